// Keeps one SessionTerminal per session, created on the first viewer and dropped when it closes.
// Terminals are keyed by the session's uid, not its name: a session deleted and created again
// under the same name is another session, with another pod, and must not inherit the old one's
// screen or viewers.
import type { WebSocket } from "ws";
import type { Role } from "./protocol.js";
import { SessionTerminal, type CloseReason, type SessionTerminalOptions } from "./session-terminal.js";
import { ScreenHost } from "./screen-host.js";

export type TerminalTarget = Pick<SessionTerminalOptions, "connect" | "state" | "untilSettled" | "onActivity" | "lingerMs" | "record">;
export type HubDefaults = Omit<SessionTerminalOptions, "screens" | "connect" | "state" | "onActivity" | "onClosed" | "record">;

export interface TerminalKey {
  /** "namespace/name" of the session. */
  session: string;
  /** The session's metadata.uid: which incarnation of that name this terminal belongs to. */
  uid: string;
  /** Set for a private terminal of the session (a fresh shell): never shared, its own id. */
  privateId?: string;
}

/** Why viewers of a deleted session's terminal are closed (normal closure: nothing to reconnect to). */
export const SESSION_DELETED: CloseReason = { code: 1000, reason: "the session was deleted" };
/** Why viewers of a session that has since been replaced under its name are closed. */
export const SESSION_REPLACED: CloseReason = {
  code: 1000,
  reason: "the session was deleted and created again under its name; reconnect to open the new one",
};

const idOf = (key: TerminalKey): string => (key.privateId === undefined ? key.uid : `${key.uid}#${key.privateId}`);

interface Entry {
  key: TerminalKey;
  terminal: SessionTerminal;
}

export class TerminalHub {
  private readonly terminals = new Map<string, Entry>();
  private screens: ScreenHost | undefined;

  constructor(private readonly defaults: HubDefaults) {
    // Started now rather than with the first terminal: booting the worker (loading the headless
    // terminal) would otherwise delay the first viewer's snapshot, and so its first byte.
    this.screenHost();
  }

  /**
   * Attaches a viewer to the session's terminal, opening the upstream when none is open yet.
   * Terminals of an earlier session of the same name are closed: that session is gone.
   */
  join(key: TerminalKey, target: () => TerminalTarget, ws: WebSocket, role: Role): SessionTerminal {
    for (const entry of this.ofSession(key.session)) if (entry.key.uid !== key.uid) entry.terminal.close(SESSION_REPLACED);
    const id = idOf(key);
    let terminal = this.terminals.get(id)?.terminal;
    if (!terminal) {
      const created: SessionTerminal = new SessionTerminal({
        ...this.defaults,
        screens: this.screenHost(),
        ...target(),
        log: this.defaults.log.child({ terminal: key.session, uid: key.uid }),
        onClosed: () => {
          if (this.terminals.get(id)?.terminal === created) this.terminals.delete(id);
        },
      });
      terminal = created;
      this.terminals.set(id, { key, terminal });
    }
    terminal.join(ws, role);
    return terminal;
  }

  /** The shared terminal of the session with this uid. */
  get(uid: string): SessionTerminal | undefined {
    return this.terminals.get(uid)?.terminal;
  }

  /** Every terminal open for "namespace/name", of whichever session of that name, private ones too. */
  forSession(session: string): SessionTerminal[] {
    return this.ofSession(session).map((entry) => entry.terminal);
  }

  /** Closes every terminal of "namespace/name", e.g. when the session is deleted. */
  end(session: string, why: CloseReason = SESSION_DELETED): void {
    for (const entry of this.ofSession(session)) entry.terminal.close(why);
  }

  close(): void {
    for (const { terminal } of [...this.terminals.values()]) terminal.close();
    void this.screens?.close();
    this.screens = undefined;
  }

  private ofSession(session: string): Entry[] {
    return [...this.terminals.values()].filter((entry) => entry.key.session === session);
  }

  // One worker for every session's screen, started with the hub. If it dies, the
  // terminals that used it close (their viewers reconnect) and the next one starts a new worker.
  private screenHost(): ScreenHost {
    if (!this.screens) {
      const host: ScreenHost = new ScreenHost((err) => {
        this.defaults.log.error({ err }, "screen worker failed; closing its terminals");
        if (this.screens === host) this.screens = undefined;
        for (const { terminal } of [...this.terminals.values()]) terminal.close();
      });
      this.screens = host;
    }
    return this.screens;
  }
}

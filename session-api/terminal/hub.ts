// Keeps one SessionTerminal per session, created on the first viewer and dropped when it closes.
import type { WebSocket } from "ws";
import type { Role } from "./protocol.js";
import { SessionTerminal, type SessionTerminalOptions } from "./session-terminal.js";
import { ScreenHost } from "./screen-host.js";

export type TerminalTarget = Pick<SessionTerminalOptions, "connect" | "state" | "untilSettled" | "onActivity" | "lingerMs" | "record">;
export type HubDefaults = Omit<SessionTerminalOptions, "screens" | "connect" | "state" | "onActivity" | "onClosed" | "record">;

export class TerminalHub {
  private readonly terminals = new Map<string, SessionTerminal>();
  private screens: ScreenHost | undefined;

  constructor(private readonly defaults: HubDefaults) {
    // Started now rather than with the first terminal: booting the worker (loading the headless
    // terminal) would otherwise delay the first viewer's snapshot, and so its first byte.
    this.screenHost();
  }

  /** Attaches a viewer to the session's terminal, opening the upstream when none is open yet. */
  join(key: string, target: () => TerminalTarget, ws: WebSocket, role: Role): SessionTerminal {
    let terminal = this.terminals.get(key);
    if (!terminal) {
      const created: SessionTerminal = new SessionTerminal({
        ...this.defaults,
        screens: this.screenHost(),
        ...target(),
        log: this.defaults.log.child({ terminal: key }),
        onClosed: () => {
          if (this.terminals.get(key) === created) this.terminals.delete(key);
        },
      });
      terminal = created;
      this.terminals.set(key, terminal);
    }
    terminal.join(ws, role);
    return terminal;
  }

  get(key: string): SessionTerminal | undefined {
    return this.terminals.get(key);
  }

  /** Closes one session's terminal, e.g. when the session is deleted. */
  end(key: string): void {
    this.terminals.get(key)?.close();
  }

  close(): void {
    for (const terminal of [...this.terminals.values()]) terminal.close();
    void this.screens?.close();
    this.screens = undefined;
  }

  // One worker for every session's screen, started with the hub. If it dies, the
  // terminals that used it close (their viewers reconnect) and the next one starts a new worker.
  private screenHost(): ScreenHost {
    if (!this.screens) {
      const host: ScreenHost = new ScreenHost((err) => {
        this.defaults.log.error({ err }, "screen worker failed; closing its terminals");
        if (this.screens === host) this.screens = undefined;
        for (const terminal of [...this.terminals.values()]) terminal.close();
      });
      this.screens = host;
    }
    return this.screens;
  }
}

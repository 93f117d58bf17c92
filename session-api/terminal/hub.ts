// Keeps one SessionTerminal per session, created on the first viewer and dropped when it closes.
import type { WebSocket } from "ws";
import type { Role } from "./protocol.js";
import { SessionTerminal, type SessionTerminalOptions } from "./session-terminal.js";

export type TerminalTarget = Pick<SessionTerminalOptions, "connect" | "isAlive" | "onActivity" | "lingerMs">;
export type HubDefaults = Omit<SessionTerminalOptions, "connect" | "isAlive" | "onActivity" | "onClosed">;

export class TerminalHub {
  private readonly terminals = new Map<string, SessionTerminal>();

  constructor(private readonly defaults: HubDefaults) {}

  /** Attaches a viewer to the session's terminal, opening the upstream when none is open yet. */
  join(key: string, target: () => TerminalTarget, ws: WebSocket, role: Role): SessionTerminal {
    let terminal = this.terminals.get(key);
    if (!terminal) {
      const created: SessionTerminal = new SessionTerminal({
        ...this.defaults,
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
  }
}

// Wires the REST app, the terminal upgrade handler and the hub onto one HTTP server.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "./log.js";
import type { Authenticator, Authorizer } from "./auth/identity.js";
import { createApp } from "./http/app.js";
import type { AgentSession, SessionStore } from "./store/store.js";
import { TerminalHub, type HubDefaults } from "./terminal/hub.js";
import type { SessionTerminal } from "./terminal/session-terminal.js";
import type { UpstreamFactory } from "./terminal/upstream.js";
import { targetState } from "./terminal/flow.js";
import { untilSettled } from "./terminal/until-settled.js";
import { terminalUpgradeHandler } from "./ws/terminal-upgrade.js";
import { mountWebUi } from "./web/serve.js";

export interface ServerDeps {
  store: SessionStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  log: Logger;
  allowedOrigins: readonly string[];
  /** How to reach a session's terminal: pods/attach in a cluster, a local PTY in development. */
  upstreamFor: (session: AgentSession) => UpstreamFactory;
  /** How to start a fresh shell in a session's agent container (pods/exec); without it /shell is refused. */
  shellFor?: (session: AgentSession) => UpstreamFactory;
  hub?: Partial<Omit<HubDefaults, "log">>;
  /**
   * Where asciicast recordings go; a session opts in with the annotation agentbox.dev/record: "true".
   * Without it nothing is recorded.
   */
  recordings?: { dir: string; maxBytes: number };
  webUi?: boolean;
}

export interface RunningServer {
  server: Server;
  hub: TerminalHub;
  url: string;
  /** The shared terminal of the session that has this name now (its uid read from the store). */
  terminalOf(namespace: string, name: string): Promise<SessionTerminal | undefined>;
  close(): Promise<void>;
}


export const RECORD_ANNOTATION = "agentbox.dev/record";

function recording(recordings: ServerDeps["recordings"], session: AgentSession): { record?: { path: string; maxBytes: number } } {
  if (!recordings || session.metadata.annotations?.[RECORD_ANNOTATION] !== "true") return {};
  // Names and namespaces are DNS labels, so they are safe in a file name.
  const file = `${session.metadata.namespace ?? "default"}_${session.metadata.name ?? "session"}_${new Date().toISOString().replace(/[:.]/g, "-")}.cast`;
  return { record: { path: join(recordings.dir, file), maxBytes: recordings.maxBytes } };
}

export async function startServer(deps: ServerDeps, port: number, host = "127.0.0.1"): Promise<RunningServer> {
  const hub = new TerminalHub({ ...deps.hub, log: deps.log });
  const app = createApp({
    store: deps.store,
    authenticator: deps.authenticator,
    authorizer: deps.authorizer,
    log: deps.log,
    onSessionDeleted: (namespace, name) => hub.end(`${namespace}/${name}`),
    ...(deps.webUi === false ? {} : { mount: mountWebUi }),
  });
  const server = createServer(app);
  server.on("upgrade", terminalUpgradeHandler({
    authenticator: deps.authenticator,
    authorizer: deps.authorizer,
    store: deps.store,
    allowedOrigins: deps.allowedOrigins,
    shells: deps.shellFor !== undefined,
    log: deps.log,
    onTerminal: (ws, { kind, namespace, name, session, role, identity, checksMs }) => {
      deps.log.info({ namespace, name, user: identity.username, role, kind, stagesMs: checksMs }, "terminal viewer joined");
      const uid = session.metadata.uid;
      if (!uid) {
        // Every object the API server returns has one; without it this session's terminal could
        // not be told apart from a later session of the same name.
        ws.close(1011, "the session has no metadata.uid");
        return;
      }
      const key = { session: `${namespace}/${name}`, uid };
      // The session this terminal belongs to, or undefined when the name now holds another.
      const same = (current: AgentSession | undefined): AgentSession | undefined => (current?.metadata.uid === uid ? current : undefined);
      const recordActivity = (): void => {
        deps.store.recordActivity(namespace, name, new Date()).catch((err: unknown) => deps.log.warn({ err, namespace, name }, "could not record activity"));
      };
      if (kind === "shell" && deps.shellFor) {
        const shellFor = deps.shellFor;
        // A private terminal: never re-opened when the shell exits, gone when its one viewer leaves.
        hub.join({ ...key, privateId: `shell-${randomUUID()}` }, () => ({ connect: shellFor(session), state: () => Promise.resolve("gone"), onActivity: recordActivity, lingerMs: 0 }), ws, role);
        return;
      }
      // The first attach uses the session the upgrade has just read (one API round trip less
      // while a burst of terminals opens), or the one the watch of a starting session last
      // delivered; every other re-attach reads it afresh: its pod may have been replaced.
      let checked: AgentSession | undefined = session;
      // The session a failed attach used: when it was not running yet, that is why it failed, and
      // where it is needs no new read (a watch takes over from there, see until-settled.ts).
      let tried: AgentSession | undefined;
      hub.join(
        key,
        () => ({
          connect: async (size) => {
            const current = same(checked ?? (await deps.store.getSession(namespace, name)));
            checked = undefined;
            tried = current;
            if (!current) throw new Error(`session ${namespace}/${name} (uid ${uid}) is gone`);
            const upstream = await deps.upstreamFor(current)(size);
            // Opened: if it ends later, where the session is then must be read afresh.
            tried = undefined;
            return upstream;
          },
          state: async () => {
            const failed = tried;
            tried = undefined;
            const phase = failed?.status?.phase ?? "Pending";
            if (failed && phase !== "Running") return targetState(phase);
            const current = same(await deps.store.getSession(namespace, name));
            // No status yet: the operator has not got to it, so it is as good as Pending.
            return current ? targetState(current.status?.phase ?? "Pending") : "gone";
          },
          untilSettled: untilSettled(deps.store, namespace, name, (latest) => {
            // A later session of the same name is this terminal's end: the attach finds it gone.
            checked = latest;
          }),
          onActivity: recordActivity,
          ...recording(deps.recordings, session),
        }),
        ws,
        role,
      );
    },
  }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    hub,
    url: `http://${shown}:${address.port}`,
    terminalOf: async (namespace, name) => {
      const uid = (await deps.store.getSession(namespace, name))?.metadata.uid;
      return uid === undefined ? undefined : hub.get(uid);
    },
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

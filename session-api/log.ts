import { pino, type Logger } from "pino";

export type { Logger };

/** The one logger factory: anything that could carry a credential is redacted at the source. */
export function createLogger(level = "info"): Logger {
  return pino({
    name: "session-api",
    level,
    redact: {
      paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization", "req.headers.authorization", 'req.headers["sec-websocket-protocol"]'],
      censor: "[redacted]",
    },
  });
}

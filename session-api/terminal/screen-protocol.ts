// Messages between the terminal hub and the screen worker. One worker hosts the headless
// terminals of every session; the port's ordering is what keeps snapshots consistent.

export type ToWorker =
  | { type: "create"; id: number; cols: number; rows: number; scrollback: number }
  | { type: "write"; id: number; data: Uint8Array }
  | { type: "resize"; id: number; cols: number; rows: number }
  | { type: "snapshot"; id: number; request: number }
  | { type: "dispose"; id: number };

export type FromWorker =
  | { type: "parsed"; id: number; bytes: number }
  | { type: "snapshot"; id: number; request: number; cols: number; rows: number; data: string };

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeFrame,
  encodeCloseStdin,
  encodeResize,
  encodeStdin,
  streamUrl,
} from "../../../session-api/terminal/k8s-channel.js";

test("encodes stdin, resize and close frames", () => {
  assert.deepEqual([...encodeStdin("ab")], [0, 97, 98]);
  const resize = encodeResize(80, 24);
  assert.equal(resize[0], 4);
  assert.deepEqual(JSON.parse(resize.subarray(1).toString()), { Width: 80, Height: 24 });
  assert.deepEqual([...encodeCloseStdin()], [255, 0]);
});

test("decodes frames from the API server", () => {
  const status = (body: unknown): Buffer => Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(body))]);
  const cases: Array<[Buffer, unknown]> = [
    [Buffer.from([1, 104, 105]), { kind: "output", data: Buffer.from("hi") }],
    [Buffer.from([2, 33]), { kind: "output", data: Buffer.from("!") }],
    [Buffer.from([1]), { kind: "ignored" }],
    [Buffer.alloc(0), { kind: "ignored" }],
    [Buffer.from([9, 1]), { kind: "ignored" }],
    [status({ status: "Success" }), { kind: "status", success: true, exitCode: 0, message: "exited" }],
    [
      status({
        status: "Failure",
        message: "command terminated with non-zero exit code",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "42" }] },
      }),
      { kind: "status", success: false, exitCode: 42, message: "command terminated with non-zero exit code" },
    ],
    [Buffer.from([3, 123]), { kind: "status", success: false, message: "unreadable status from the API server" }],
  ];
  for (const [frame, want] of cases) assert.deepEqual(decodeFrame(frame), want);
});

test("stream URLs", () => {
  assert.equal(
    streamUrl("https://10.0.0.1:6443", { namespace: "dev", pod: "s-1", container: "agent", mode: "attach" }),
    "wss://10.0.0.1:6443/api/v1/namespaces/dev/pods/s-1/attach?container=agent&stdin=true&stdout=true&tty=true",
  );
  assert.equal(
    streamUrl("http://127.0.0.1:8001/k8s/", { namespace: "dev", pod: "p", container: "agent", mode: "exec", command: ["bash", "-l"] }),
    "ws://127.0.0.1:8001/k8s/api/v1/namespaces/dev/pods/p/exec?container=agent&stdin=true&stdout=true&tty=true&command=bash&command=-l",
  );
});

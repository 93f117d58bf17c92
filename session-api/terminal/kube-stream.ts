// Upstream over pods/attach or pods/exec, speaking v5.channel.k8s.io with `ws` directly so that
// resize (channel 4), stdin close and back-pressure are ours to control.
import type { KubeConfig } from "@kubernetes/client-node";
import WebSocket from "ws";
import { K8S_SUBPROTOCOL, decodeFrame, encodeResize, encodeStdin, streamUrl, type StreamTarget } from "./k8s-channel.js";
import type { Upstream, UpstreamEnd, UpstreamFactory } from "./upstream.js";

export function kubeStreamFactory(kc: KubeConfig, target: StreamTarget): UpstreamFactory {
  return async (size) => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster; set KUBECONFIG or run in a pod");
    // The client side of ws offers compression by default; terminal bytes are not worth the CPU.
    const options: WebSocket.ClientOptions = { perMessageDeflate: false };
    await kc.applyToHTTPSOptions(options);
    const ws = new WebSocket(streamUrl(cluster.server, target), [K8S_SUBPROTOCOL], options);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`API server refused ${target.mode} to ${target.namespace}/${target.pod}: HTTP ${res.statusCode}`)),
      );
      // ws itself fails the handshake when the server picks no subprotocol or another one.
      ws.once("error", (err) =>
        reject(
          /subprotocol/i.test(err.message)
            ? new Error(`API server does not speak ${K8S_SUBPROTOCOL} (needs Kubernetes 1.30 or newer)`, { cause: err })
            : new Error(`cannot ${target.mode} to ${target.namespace}/${target.pod}`, { cause: err }),
        ),
      );
    });
    return wrap(ws, size);
  };
}

function wrap(ws: WebSocket, size: { cols: number; rows: number }): Upstream {
  const dataListeners: Array<(chunk: Buffer) => void> = [];
  const endListeners: Array<(end: UpstreamEnd) => void> = [];
  let status: UpstreamEnd | undefined;
  let ended: UpstreamEnd | undefined;
  ws.on("message", (message: Buffer) => {
    const frame = decodeFrame(message);
    if (frame.kind === "output") for (const listener of dataListeners) listener(frame.data);
    else if (frame.kind === "status") status = frame.exitCode === undefined ? { reason: frame.message } : { reason: frame.message, exitCode: frame.exitCode };
  });
  const finish = (end: UpstreamEnd): void => {
    if (ended) return;
    ended = end;
    for (const listener of endListeners) listener(end);
  };
  ws.on("close", (code) => finish(status ?? { reason: `stream closed (${code})` }));
  ws.on("error", (err) => finish({ reason: `stream failed: ${err.message}` }));
  ws.send(encodeResize(size.cols, size.rows));
  return {
    write(data) {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeStdin(data));
    },
    resize({ cols, rows }) {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeResize(cols, rows));
    },
    close() {
      ws.close(1000);
    },
    onData(listener) {
      dataListeners.push(listener);
    },
    onEnd(listener) {
      if (ended) listener(ended);
      else endListeners.push(listener);
    },
  };
}

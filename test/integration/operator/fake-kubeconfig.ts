// A kubeconfig pointing at a plain-HTTP fake API server on loopback (named as a fake: the tests
// that use it need an API server that holds or shapes answers in ways a real one cannot be made to).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export function fakeKubeConfig(fake: Server): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is off; there is no TLS here at all.
    clusters: [{ name: "fake", server: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "fake", token: "fake-apiserver-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return kc;
}

# Writes the components' configuration files (sourced by up.sh).
# shellcheck shell=bash

# put FILE [COMPONENT]: writes stdin to FILE only when it differs (kube-proxy exits when its
# configuration file is rewritten, even with the same content); a COMPONENT whose configuration
# changed is listed in RESTART so up.sh restarts it with the new one.
RESTART=()
put() {
  local tmp; tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; return; fi
  mv "$tmp" "$1"
  if [ -n "${2:-}" ]; then RESTART+=("$2"); fi
}

write_configs() {
  mkdir -p "$STATE" "$CNI_CONF_DIR" "$CNI_DATA_DIR" "$KUBELET_ROOT" "$CONTAINERD_ROOT" "$CONTAINERD_STATE"

  put "$STATE/containerd.toml" containerd <<CFG
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = "$CONTAINERD_SOCK.debug"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine refuses to lower oom_score_adj (even for root), and containerd asks -998 for
  # every pause container: clamp requests to containerd's own value instead of failing the pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_CONF_DIR"
CFG

  put "$CNI_CONF_DIR/10-agentbox.conflist" <<CFG
{
  "cniVersion": "1.0.0",
  "name": "agentbox",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$CNI_DATA_DIR/networks"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CFG

  put "$STATE/kubelet.yaml" kubelet <<CFG
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
address: $NODE_IP
healthzBindAddress: 127.0.0.1
failSwapOn: false
serializeImagePulls: false
# Images here are built locally and can never be pulled again: never garbage-collect or evict them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
maxPods: 250
CFG

  put "$STATE/kube-proxy.yaml" kube-proxy <<CFG
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Where conntrack sysctls are read-only, kube-proxy must not try to raise them.
conntrack: {maxPerCore: 0}
# NodePorts only on the node's own address, never on the machine's real interfaces.
nodePortAddresses: ["$NODE_IP/32"]
CFG

  [ -f "$STATE/hosts" ] || : >"$STATE/hosts"
  put "$STATE/Corefile" coredns <<CFG
.:53 {
    bind $NODE_IP
    errors
    hosts $STATE/hosts {
        reload 1s
        fallthrough
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig agentbox
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
CFG
}

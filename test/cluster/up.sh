#!/usr/bin/env bash
# Brings up the local single-node cluster (idempotent). Run as root. See README.md beside this file.
source "$(dirname "$0")/lib.sh"
source "$CLUSTER_DIR/certs.sh"
source "$CLUSTER_DIR/configs.sh"
need_root

step "Debian packages"
bash "$CLUSTER_DIR/install-deps.sh"

step "kubernetes binaries"
bash "$CLUSTER_DIR/build-k8s.sh"
bash "$CLUSTER_DIR/build-coredns.sh"

step "host network: $NODE_IF $NODE_IP, forwarding, bridge netfilter"
ip link show "$NODE_IF" >/dev/null 2>&1 || ip link add "$NODE_IF" type bridge  # an empty bridge: this kernel has no dummy driver
# (grep on captured output: under pipefail, grep -q closing a pipe early fails the pipeline)
grep -q " $NODE_IP/" <<<"$(ip addr show dev "$NODE_IF")" || ip addr add "$NODE_IP/32" dev "$NODE_IF"
ip link set "$NODE_IF" up
sysctl -qw net.ipv4.ip_forward=1
# Pod -> Service -> pod on the same bridge only works if bridged traffic passes through iptables.
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
else
  modprobe br_netfilter 2>/dev/null || step "warning: br_netfilter unavailable: pod->Service->same-node pod may fail"
fi

step "certificates and configuration in $STATE"
make_pki
forget_dead
write_configs
if [ "${#RESTART[@]}" -gt 0 ]; then
  step "configuration changed: restarting ${RESTART[*]}"
  stop_components "${RESTART[@]}"
fi

# Control-plane processes that outlived their etcd (it was killed, or a down was cut short) hold
# caches of a store that may be gone ("Too large resource version" for minutes): they start
# again with the new etcd.
if ! running etcd; then
  orphans=()
  for name in kube-apiserver kube-controller-manager kube-scheduler; do running "$name" && orphans+=("$name"); done
  if [ "${#orphans[@]}" -gt 0 ]; then
    step "etcd was not running: restarting ${orphans[*]}"
    stop_components "${orphans[@]}"
  fi
fi

start etcd etcd --name agentbox --data-dir "$STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster agentbox=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
wait_for etcd 30 curl -fsS http://127.0.0.1:2381/health

start containerd containerd --config "$STATE/containerd.toml"
wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version

# Images every e2e test relies on; AGENTBOX_IMAGES overrides the list (space-separated).
images=${AGENTBOX_IMAGES-pause agent-shell platform}
if [ -n "$images" ]; then
  step "images: $images"
  # shellcheck disable=SC2086
  bash "$CLUSTER_DIR/images/up.sh" $images
fi
loaded=$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q)
grep -qx "$PAUSE_IMAGE" <<<"$loaded" ||
  die "the pause image $PAUSE_IMAGE is not in the cluster's containerd (npm run images:build)"

start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port=6443 \
  --etcd-servers=http://127.0.0.1:2379 \
  --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false --event-ttl=1h --v=1
wait_for kube-apiserver 90 $KUBECTL get --raw /readyz

step "bootstrap RBAC"
$KUBECTL apply -f "$CLUSTER_DIR/manifests/bootstrap-rbac.yaml" >/dev/null

start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
  --use-service-account-credentials=true \
  --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --v=1
start coredns "$COREDNS_BIN" -conf "$STATE/Corefile"
start kubelet "$K8S_BIN/kubelet" --config="$STATE/kubelet.yaml" \
  --kubeconfig="$STATE/kubelet.kubeconfig" --node-ip="$NODE_IP" --hostname-override="$NODE_NAME" \
  --root-dir="$KUBELET_ROOT" --v=1
start kube-proxy "$K8S_BIN/kube-proxy" --config="$STATE/kube-proxy.yaml"

wait_for "node $NODE_NAME Ready" 120 \
  $KUBECTL wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
wait_for "default service account" 60 $KUBECTL -n default get serviceaccount default
prioritise_control_plane
step "cluster up: export KUBECONFIG=$KUBECONFIG_PATH"

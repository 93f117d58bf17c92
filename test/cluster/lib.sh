# Shared settings and helpers of the local cluster scripts (sourced, not run).
# shellcheck shell=bash
set -euo pipefail

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CLUSTER_DIR/../.." && pwd)
CACHE=${AGENTBOX_CACHE:-/var/cache/agentbox}
STATE=/var/lib/agentbox/cluster          # certificates, kubeconfigs, configuration, etcd data
RUN=/run/agentbox                        # pid files and sockets
LOGS=/var/log/agentbox
KUBELET_ROOT=/var/lib/agentbox/kubelet
CONTAINERD_ROOT=/var/lib/agentbox/containerd
CONTAINERD_STATE=$RUN/containerd
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
CNI_CONF_DIR=/etc/agentbox/cni/net.d
CNI_DATA_DIR=/var/lib/agentbox/cni
KUBECONFIG_PATH=$STATE/admin.kubeconfig

NODE_NAME=agentbox-node
# The node's address lives on an interface of its own so the cluster never depends on (or talks through)
# the machine's real network: everything stays on this host.
NODE_IF=agentbox0
NODE_IP=10.217.0.1
POD_CIDR=10.244.0.0/16
NODE_POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
CNI_BRIDGE=agentbox-cni0
PAUSE_IMAGE=registry.k8s.io/pause:3.10

K8S_VERSION=$(sed -n 's#^[[:space:]]*k8s.io/kubernetes v\([0-9.]*\).*#\1#p' "$CLUSTER_DIR/k8s/go.mod" | head -1)
K8S_BIN=$CACHE/k8s-v$K8S_VERSION/bin
COREDNS_BIN=$CACHE/coredns-v1.14.7/coredns
KUBECTL="$K8S_BIN/kubectl --kubeconfig $KUBECONFIG_PATH"

# Components in start order; down stops them in reverse.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler coredns kubelet kube-proxy)

t0=$(date +%s)
step() { printf '[%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { echo "error: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "the local cluster must be run as root (it manages containerd, iptables and network namespaces)"; }

pidfile() { echo "$RUN/pids/$1.pid"; }
running() { local f; f=$(pidfile "$1"); [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# start NAME CMD...: runs CMD detached with its log in $LOGS/NAME.log, unless already running.
start() {
  local name=$1; shift
  if running "$name"; then step "$name: already running"; return 0; fi
  mkdir -p "$RUN/pids" "$LOGS"
  # The daemon keeps no descriptor of its caller's beyond 0-2: started under
  # `flock /tmp/agentbox-e2e.lock ...` (e2e runs, whose last file restarts the cluster), an
  # inherited lock descriptor would hold the e2e lock for as long as the cluster runs.
  (
    for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-"; done
    exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$(pidfile "$name")"
  step "$name: started (pid $!, log $LOGS/$name.log)"
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    check_alive
    if [ "$(date +%s)" -ge "$deadline" ]; then
      die "$what not ready after ${secs}s (see $LOGS/)"
    fi
    sleep 0.5
  done
  step "$what: ready"
}

# Dies with the tail of its log when a component this script started has exited.
# A cluster whose processes were killed (a CI job's process tree reaped, a reboot) leaves pid
# files behind; they must not read as "exited" to check_alive nor as "running" to start.
forget_dead() {
  local f
  for f in "$RUN"/pids/*.pid; do
    [ -e "$f" ] || continue
    kill -0 "$(cat "$f")" 2>/dev/null || { step "$(basename "$f" .pid): was not running (stale pid file removed)"; rm -f "$f"; }
  done
}

check_alive() {
  local f name
  for f in "$RUN"/pids/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    if ! kill -0 "$(cat "$f")" 2>/dev/null; then
      echo "error: $name exited; the end of $LOGS/$name.log:" >&2
      tail -n 5 "$LOGS/$name.log" | cut -c1-300 >&2
      exit 1
    fi
  done
}

# stop_components NAME...: TERM to all at once, then KILL whatever still runs after 10 s.
stop_components() {
  local name f pids=()
  for name in "$@"; do
    f=$(pidfile "$name")
    [ -f "$f" ] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then
      step "stopping $name"
      kill -TERM "$(cat "$f")" 2>/dev/null || true
      pids+=("$(cat "$f")")
    fi
    rm -f "$f"
  done
  local deadline=$(( $(date +%s) + 10 )) pid alive
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# On a real cluster the control plane has machines of its own; here it shares two cores with
# every pod the node starts, and a burst of pod starts (100 sessions at once) starved the API
# server for seconds. The control plane's processes go into a CPU cgroup weighted above the
# kubelet's `kubepods` (2048 shares for 2 cores), so API calls keep flowing while pods start, as
# they would with the control plane elsewhere. Idempotent; a warning, never a failure, where the
# cgroup cannot be made.
CONTROL_PLANE=(etcd kube-apiserver kube-controller-manager kube-scheduler coredns)
CONTROL_PLANE_CPU_SHARES=8192
prioritise_control_plane() {
  local dir file value name
  if [ -d /sys/fs/cgroup/cpu ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
    dir=/sys/fs/cgroup/cpu/agentbox-control-plane file=cpu.shares value=$CONTROL_PLANE_CPU_SHARES
  else
    # cgroup v2: weight 1..10000, 100 is the default (kubepods gets one per its CPUs' shares).
    dir=/sys/fs/cgroup/agentbox-control-plane file=cpu.weight value=$(( CONTROL_PLANE_CPU_SHARES * 100 / 1024 ))
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  fi
  if ! { mkdir -p "$dir" && echo "$value" >"$dir/$file"; } 2>/dev/null; then
    step "warning: could not weight the control plane's CPU cgroup $dir: API calls may stall while many pods start"
    return 0
  fi
  for name in "${CONTROL_PLANE[@]}"; do
    running "$name" && { echo "$(cat "$(pidfile "$name")")" >"$dir/cgroup.procs"; } 2>/dev/null || true
  done
  step "control plane in $dir ($file $value)"
}

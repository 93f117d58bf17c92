#!/usr/bin/env bash
# Stops the local cluster and removes every trace of it at runtime: processes, containers, mounts,
# network namespaces, veths, the bridge, the dummy interface and iptables rules. Idempotent.
# Kept: certificates and kubeconfigs (so a KUBECONFIG stays valid) and containerd's image store
# (images can never be pulled again); etcd data is removed, so the next up starts empty.
source "$(dirname "$0")/lib.sh"
need_root

stop_components kube-proxy kubelet coredns kube-scheduler kube-controller-manager kube-apiserver

if running containerd; then
  step "removing containers"
  ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in $(ctr_ tasks ls -q 2>/dev/null); do
    for _ in $(seq 1 20); do ctr_ tasks rm -f "$t" >/dev/null 2>&1 && break; sleep 0.25; done
  done
  for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
fi
stop_components containerd etcd
# A shim outlives containerd by design; ours are the ones started against our socket.
pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true

step "unmounting"
for _ in 1 2 3; do
  mounts=$(awk '{print $2}' /proc/self/mounts | grep -E "^(/var/lib/agentbox|/run/agentbox)" | grep -v "^/[a-z/]*/agentbox/docker" | sort -r || true)
  [ -z "$mounts" ] && break
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
done

step "network: namespaces, bridge, dummy interface, iptables rules"
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do ip netns del "$ns" || true; done
ip link del "$CNI_BRIDGE" 2>/dev/null || true
ip link del "$NODE_IF" 2>/dev/null || true
# kube-proxy's chains are KUBE-*, the CNI plugins' CNI-*: drop every rule that names one.
for family in iptables ip6tables; do
  command -v "$family-save" >/dev/null || continue
  if grep -qE 'KUBE-|CNI-' <<<"$("$family-save")"; then
    "$family-save" | grep -vE 'KUBE-|CNI-' | "$family-restore"
  fi
done

rmdir /sys/fs/cgroup/cpu/agentbox-control-plane /sys/fs/cgroup/agentbox-control-plane 2>/dev/null || true
rm -rf "$STATE/etcd" "$KUBELET_ROOT" "$CNI_DATA_DIR" "$CONTAINERD_STATE" "$RUN/pids"
step "cluster down"

#!/usr/bin/env bash
# Imports the image tars written by images/build.sh into the local cluster's containerd
# (namespace k8s.io), so pods start them with imagePullPolicy IfNotPresent and no registry.
#
# usage: images/load.sh [pause|platform|agent-shell|claude-code|codex]...   (default: every tar built)
# Env: CONTAINERD_ADDRESS (default /run/agentbox/containerd/containerd.sock), AGENTBOX_IMAGE_CACHE.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$IMAGES_DIR/lib/save.sh"

ADDRESS=${CONTAINERD_ADDRESS:-/run/agentbox/containerd/containerd.sock}
NAMESPACE=k8s.io

ctr_() {
  ctr --address "$ADDRESS" --namespace "$NAMESPACE" "$@"
}

tars_wanted() {
  local name
  if [ $# -eq 0 ]; then
    ls "$CACHE_DIR"/*.tar 2>/dev/null || true
    return
  fi
  for name in "$@"; do
    case "$name" in
      pause) image_tar registry.k8s.io/pause:3.10 ;;
      *) image_tar "agentbox/$name:dev" ;;
    esac
  done
}

main() {
  command -v ctr >/dev/null || die "no ctr: install Debian's containerd (test/cluster/install-deps.sh does)"
  [ -S "$ADDRESS" ] && ctr --address "$ADDRESS" version >/dev/null 2>&1 \
    || die "the cluster's containerd is not answering at $ADDRESS: start the cluster (npm run cluster:up) or set CONTAINERD_ADDRESS"
  local tars tar
  mapfile -t tars < <(tars_wanted "$@")
  [ ${#tars[@]} -gt 0 ] || die "no image tars in $CACHE_DIR: run npm run images:build first"
  for tar in "${tars[@]}"; do
    [ -f "$tar" ] || die "$tar is missing: run npm run images:build first"
    step_started=$(date +%s)
    echo "importing $(basename "$tar")"
    ctr_ images import "$tar" | sed 's/^/      /'
    step_done "imported"
  done
  echo "images in containerd ($ADDRESS, namespace $NAMESPACE):"
  ctr_ images ls | awk 'NR == 1 || /agentbox\/|pause:/ { print "  " $1 "  " $4 $5 }'
}

main "$@"

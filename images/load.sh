#!/usr/bin/env bash
# Imports the image tars written by images/build.sh into the local cluster's containerd
# (namespace k8s.io), so pods start them with imagePullPolicy IfNotPresent and no registry.
# An image containerd already holds with the same config digest (the Docker image ID) is skipped.
#
# usage: images/load.sh [pause|platform|agent-shell|claude-code|codex]...   (default: every one built)
# Env: CONTAINERD_ADDRESS (default /run/agentbox/containerd/containerd.sock), AGENTBOX_IMAGE_CACHE.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$IMAGES_DIR/lib/save.sh"

ADDRESS=${CONTAINERD_ADDRESS:-/run/agentbox/containerd/containerd.sock}
NAMESPACE=k8s.io

ctr_() {
  ctr --address "$ADDRESS" --namespace "$NAMESPACE" "$@"
}

# The name containerd gives a tag: Docker Hub's implicit registry made explicit.
containerd_ref() {
  case "${1%%/*}" in
    *.* | *:* | localhost) echo "$1" ;;
    *) echo "docker.io/$1" ;;
  esac
}

# Config digest of the image containerd holds under REF, or nothing when it holds none.
loaded_config_digest() {
  local manifest
  manifest=$(ctr_ images ls "name==$1" | awk 'NR == 2 { print $3 }')
  [ -n "$manifest" ] || return 0
  ctr_ content get "$manifest" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      try { console.log(JSON.parse(s).config?.digest ?? ""); } catch { console.log(""); }
    });'
}

load_image() {
  local name=$1 tag tar ref
  tag=$(tag_of "$name")
  tar=$(image_tar "$tag")
  ref=$(containerd_ref "$tag")
  step_started=$(date +%s)
  if [ "$(loaded_config_digest "$ref")" = "$(cat "$tar.id")" ]; then
    echo "$ref: already loaded"
    return
  fi
  echo "$ref: importing $(basename "$tar")"
  local err
  if ! err=$(ctr_ images import "$tar" 2>&1 >/dev/null); then
    # Seen after a cluster whose etcd had died was brought up again: containerd's metadata named
    # a layer snapshot its snapshotter no longer had ("parent snapshot ... does not exist").
    # Removing the image with a synchronous garbage collection drops the stale records; one
    # more import then unpacks every layer afresh.
    echo "$ref: import failed ($err); removing the image's stale records and importing again"
    ctr_ images rm --sync "$ref" >/dev/null 2>&1 || true
    ctr_ images import "$tar" >/dev/null || die "$ref: import failed twice: see the error above; npm run cluster:down then npm run cluster:up starts containerd from a clean state"
  fi
  step_done "imported"
}

main() {
  local wanted=("$@") name
  command -v ctr >/dev/null || die "no ctr: install Debian's containerd (test/cluster/install-deps.sh does)"
  [ -S "$ADDRESS" ] && ctr --address "$ADDRESS" version >/dev/null 2>&1 \
    || die "the cluster's containerd is not answering at $ADDRESS: start the cluster (npm run cluster:up) or set CONTAINERD_ADDRESS"
  if [ ${#wanted[@]} -eq 0 ]; then
    for name in "${ALL_IMAGES[@]}"; do
      [ -f "$(image_tar "$(tag_of "$name")").id" ] && wanted+=("$name")
    done
    [ ${#wanted[@]} -gt 0 ] || die "no image tars in $CACHE_DIR: run npm run images:build first"
  fi
  for name in "${wanted[@]}"; do
    check_image_name "$name"
    [ -f "$(image_tar "$(tag_of "$name")").id" ] || die "$name was not built: run npm run images:build -- $name"
  done
  for name in "${wanted[@]}"; do load_image "$name"; done
  echo "images in containerd ($ADDRESS, namespace $NAMESPACE):"
  ctr_ images ls | awk 'NR > 1 && /agentbox\/|pause:/ { printf "  %-40s %s %s\n", $1, $4, $5 }'
}

main "$@"

#!/usr/bin/env bash
# Copies the generated CRDs (crds/*.yaml, written by `npm run gen`) and the example
# AgentTemplates (examples/templates/*.yaml) into the chart, which can only package files
# under its own folder. `--check` changes nothing and exits 1 when the chart's copies are stale,
# so CI catches a `npm run gen` that was not followed by this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/helm/agentbox"
check=0
[ "${1:-}" = "--check" ] && check=1

# sync SOURCE_DIR GLOB DEST_DIR
sync() {
  local src_dir=$1 pattern=$2 dst=$3 stale=0
  shopt -s nullglob
  local files=("$src_dir"/$pattern)
  shopt -u nullglob
  if [ ${#files[@]} -eq 0 ]; then
    echo "sync-crds: nothing matches $src_dir/$pattern (run npm run gen first?)" >&2
    return 1
  fi
  if [ "$check" = 1 ]; then
    for f in "${files[@]}"; do
      cmp -s "$f" "$dst/$(basename "$f")" || { echo "stale: $dst/$(basename "$f") differs from $f" >&2; stale=1; }
    done
    for f in "$dst"/$pattern; do
      [ -e "$f" ] && [ ! -e "$src_dir/$(basename "$f")" ] && { echo "stale: $f has no source in $src_dir" >&2; stale=1; }
    done
    return $stale
  fi
  mkdir -p "$dst"
  rm -f "$dst"/$pattern
  cp "${files[@]}" "$dst/"
  echo "sync-crds: ${#files[@]} file(s) -> ${dst#$root/}"
}

status=0
sync "$root/crds" "*.yaml" "$chart/crds" || status=1
sync "$root/examples/templates" "*.yaml" "$chart/files/agent-templates" || status=1
if [ "$check" = 1 ] && [ "$status" != 0 ]; then echo "run: bash helm/sync-crds.sh" >&2; fi
exit $status

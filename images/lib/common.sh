# Shared helpers for images/build.sh and images/load.sh: progress lines, timings, hashing.
# Sourced, not executed.

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(dirname "$IMAGES_DIR")
CACHE_DIR=${AGENTBOX_IMAGE_CACHE:-/var/cache/agentbox/images}
# Image config label holding the hash of what an image was made from, so a rerun can skip it.
INPUTS_LABEL=dev.agentbox.inputs

# The images the project builds and loads into the cluster, by short name.
ALL_IMAGES=(pause platform agent-shell claude-code codex)
PAUSE_TAG=registry.k8s.io/pause:3.10

tag_of() {
  case "$1" in
    pause) echo "$PAUSE_TAG" ;;
    *) echo "agentbox/$1:dev" ;;
  esac
}

check_image_name() {
  case " ${ALL_IMAGES[*]} " in
    *" $1 "*) ;;
    *) die "unknown image '$1' (known: ${ALL_IMAGES[*]})" ;;
  esac
}

step_no=0
step_total=0
step_started=0
build_started=$(date +%s)

die() {
  echo "error: $*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" = 0 ] || die "run as root (it starts dockerd, runs debootstrap and writes under /var/cache/agentbox)"
}

# step "title": prints "[n/N] title" and remembers when it started; step_done prints the time taken.
step() {
  step_no=$((step_no + 1))
  step_started=$(date +%s)
  printf '[%d/%d] %s\n' "$step_no" "$step_total" "$*"
}

step_done() {
  printf '      %s (%ds)\n' "${1:-done}" "$(($(date +%s) - step_started))"
}

elapsed_total() {
  echo $(($(date +%s) - build_started))
}

# inputs_hash FILE... : one short hash over the named files' contents and any extra words on stdin.
inputs_hash() {
  { cat; for f in "$@"; do printf '%s\n' "$f"; cat "$f"; done; } | sha256sum | cut -c1-16
}

image_inputs() {
  docker image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "$1" 2>/dev/null || true
}

image_size_mb() {
  docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f", $1 / 1048576 }'
}

# docker_build TAG DOCKERFILE CONTEXT [docker build flags...]: the legacy builder (Debian's
# docker.io has no buildx plugin), host network (dockerd runs without a bridge, see
# docker-engine.sh), output kept in a log that is shown when the build fails.
docker_build() {
  local tag=$1 dockerfile=$2 ctx=$3
  shift 3
  local log="$CACHE_DIR/logs/${tag//[\/:]/_}.log"
  mkdir -p "$CACHE_DIR/logs"
  if ! DOCKER_BUILDKIT=0 docker build --network host --file "$dockerfile" --tag "$tag" "$@" "$ctx" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "docker build of $tag failed; full log: $log"
  fi
}

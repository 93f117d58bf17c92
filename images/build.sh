#!/usr/bin/env bash
# Builds agentbox's container images on this machine, with no registry: base images from Debian
# packages (debootstrap) and the host's Node.js, then the project's Dockerfiles on top of them.
# Each image is saved as a tar under /var/cache/agentbox/images for images/load.sh.
#
# usage: images/build.sh [pause|platform|agent-shell|claude-code|codex]...   (default: all)
# Idempotent; run as root. Env: AGENTBOX_IMAGE_CACHE, AGENTBOX_BUNDLE=0 (platform: no esbuild bundles), AGENTBOX_DEBIAN_MIRROR, AGENTBOX_HOST_NODE,
# AGENTBOX_BASES=pull (with a registry: pull the official base images instead of making them).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$IMAGES_DIR/lib/docker-engine.sh"
source "$IMAGES_DIR/lib/debian-base.sh"
source "$IMAGES_DIR/lib/node-base.sh"
source "$IMAGES_DIR/lib/pause.sh"
source "$IMAGES_DIR/lib/platform.sh"
source "$IMAGES_DIR/lib/agents.sh"
source "$IMAGES_DIR/lib/save.sh"

build_one() {
  case "$1" in
    pause) build_pause ;;
    platform) build_platform ;;
    agent-shell)
      docker_build "$(tag_of "$1")" "$IMAGES_DIR/$1/Dockerfile" "$IMAGES_DIR/$1"
      step_done "built $(tag_of "$1")"
      ;;
    claude-code | codex) build_agent "$1" ;;
  esac
}

main() {
  local asked=("$@") wanted=() name
  [ ${#asked[@]} -gt 0 ] || asked=("${ALL_IMAGES[@]}")
  for name in "${asked[@]}"; do check_image_name "$name"; done
  # The agent CLI images are built on agent-shell, so it comes along; order is ALL_IMAGES'.
  case " ${asked[*]} " in *" claude-code "* | *" codex "*) asked+=(agent-shell) ;; esac
  for name in "${ALL_IMAGES[@]}"; do
    case " ${asked[*]} " in *" $name "*) wanted+=("$name") ;; esac
  done

  require_root
  mkdir -p "$CACHE_DIR"
  step_total=$((3 + ${#wanted[@]}))
  [ "${AGENTBOX_BASES:-local}" != pull ] || step_total=$((2 + ${#wanted[@]}))

  step "Docker engine"
  ensure_docker
  # One build at a time on this dockerd: the prune at the end removes the untagged intermediate
  # images a concurrent build is still stacking layers on ("unknown parent image ID"), and both
  # would write the same tars. Taken after dockerd starts, which would otherwise inherit it.
  exec 9>"$CACHE_DIR/.build.lock"
  flock -n 9 || { echo "waiting for another images/build.sh on this machine to finish"; flock 9; }
  if [ "${AGENTBOX_BASES:-local}" = pull ]; then
    step "base images debian:bookworm-slim, node:20-bookworm-slim (docker pull)"
    docker pull --quiet debian:bookworm-slim >/dev/null
    docker pull --quiet node:20-bookworm-slim >/dev/null
    step_done "pulled"
  else
    step "base image debian:bookworm-slim (debootstrap --variant=minbase)"
    build_debian_base
    step "base image node:20-bookworm-slim (host Node.js)"
    build_node_base
  fi
  # Each image is saved as soon as it is built, so a later failure does not lose it.
  for name in "${wanted[@]}"; do
    step "image $(tag_of "$name")"
    build_one "$name"
    save_image "$(tag_of "$name")"
  done

  # Each rebuild leaves the image it replaced untagged; without this the data root only grows.
  docker image prune --force >/dev/null
  echo "images built in $(elapsed_total)s (tars in $CACHE_DIR):"
  for name in debian:bookworm-slim node:20-bookworm-slim; do
    printf '  %-32s %5s MB\n' "$name" "$(image_size_mb "$name")"
  done
  for name in "${wanted[@]}"; do
    printf '  %-32s %5s MB\n' "$(tag_of "$name")" "$(image_size_mb "$(tag_of "$name")")"
  done
}

main "$@"

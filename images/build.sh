#!/usr/bin/env bash
# Builds agentbox's container images on this machine, with no registry: base images from Debian
# packages (debootstrap) and the host's Node.js, then the project's Dockerfiles on top of them.
# Each image is saved as a tar under /var/cache/agentbox/images for images/load.sh.
#
# usage: images/build.sh [pause|platform|agent-shell|claude-code|codex]...   (default: all)
# Idempotent; run as root. Env: AGENTBOX_IMAGE_CACHE, AGENTBOX_DEBIAN_MIRROR, AGENTBOX_HOST_NODE.
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
  local wanted=("$@") name
  [ ${#wanted[@]} -gt 0 ] || wanted=("${ALL_IMAGES[@]}")
  for name in "${wanted[@]}"; do check_image_name "$name"; done
  # The model images are built on agent-shell: build it first when either is asked for.
  case " ${wanted[*]} " in
    *" agent-shell "*) ;;
    *" claude-code "* | *" codex "*) wanted=(agent-shell "${wanted[@]}") ;;
  esac

  require_root
  mkdir -p "$CACHE_DIR"
  step_total=$((3 + ${#wanted[@]}))

  step "Docker engine"
  ensure_docker
  step "base image debian:bookworm-slim (debootstrap --variant=minbase)"
  build_debian_base
  step "base image node:20-bookworm-slim (host Node.js)"
  build_node_base
  # Each image is saved as soon as it is built, so a later failure does not lose it.
  for name in "${wanted[@]}"; do
    step "image $(tag_of "$name")"
    build_one "$name"
    save_image "$(tag_of "$name")"
  done

  echo "images built in $(elapsed_total)s:"
  for name in debian:bookworm-slim node:20-bookworm-slim; do
    printf '  %-32s %5s MB\n' "$name" "$(image_size_mb "$name")"
  done
  for name in "${wanted[@]}"; do
    printf '  %-32s %5s MB\n' "$(tag_of "$name")" "$(image_size_mb "$(tag_of "$name")")"
  done
}

main "$@"

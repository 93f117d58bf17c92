# Makes node:20-bookworm-slim from debian:bookworm-slim and the host's Node.js. Sourced.

HOST_NODE=${AGENTBOX_HOST_NODE:-/usr/bin/node}
HOST_NODE_MODULES=${AGENTBOX_HOST_NODE_MODULES:-/usr/lib/node_modules}

build_node_base() {
  local tag=node:20-bookworm-slim version hash ctx="$CACHE_DIR/ctx/node"
  [ -x "$HOST_NODE" ] || die "no Node.js at $HOST_NODE (set AGENTBOX_HOST_NODE)"
  [ -d "$HOST_NODE_MODULES/npm" ] && [ -d "$HOST_NODE_MODULES/corepack" ] || die "no npm and corepack under $HOST_NODE_MODULES (set AGENTBOX_HOST_NODE_MODULES)"
  version=$("$HOST_NODE" --version)
  case "$version" in v20.*) ;; *) die "host Node.js is $version; node:20-bookworm-slim needs v20" ;; esac
  hash=$({
    echo "$version npm $("$HOST_NODE" "$HOST_NODE_MODULES/npm/bin/npm-cli.js" --version)"
    image_inputs debian:bookworm-slim
    sha256sum "$HOST_NODE"
  } | inputs_hash "$IMAGES_DIR/node/Dockerfile" "${BASH_SOURCE[0]}")
  if [ "$(image_inputs "$tag")" = "$hash" ]; then
    step_done "up to date ($tag, Node.js $version)"
    return
  fi
  rm -rf "$ctx"
  mkdir -p "$ctx/node_modules"
  cp "$HOST_NODE" "$ctx/node"
  cp -a "$HOST_NODE_MODULES/npm" "$ctx/node_modules/npm"
  cp -a "$HOST_NODE_MODULES/corepack" "$ctx/node_modules/corepack"
  docker_build "$tag" "$IMAGES_DIR/node/Dockerfile" "$ctx" \
    --build-arg "NODE_VERSION=${version#v}" --label "$INPUTS_LABEL=$hash"
  rm -rf "$ctx"
  step_done "built $tag with Node.js $version"
}

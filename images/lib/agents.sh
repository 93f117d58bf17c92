# Builds the agent CLI images (Claude Code, Codex) on agentbox/agent-shell. Sourced.

# Pinned so a rebuild gives the same agent; bump deliberately.
declare -A AGENT_PACKAGES=(
  [claude-code]=@anthropic-ai/claude-code@2.1.332
  [codex]=@openai/codex@0.169.0
)

# Installs the agent's npm package globally into the build context's usr/local/ with the host's
# npm (same Node.js major as the image, so platform-specific optional packages match). Docker
# build steps here cannot verify the registry's TLS chain (the host trusts an extra CA that the
# images must not), so the install happens on the host; the result is reused per package version.
stage_agent_package() {
  local name=$1 package=$2 ctx=$3
  if [ "$(cat "$ctx/.package" 2>/dev/null)" = "$package" ]; then
    return
  fi
  rm -rf "$ctx"
  mkdir -p "$ctx/usr/local"
  npm install --global --prefix "$ctx/usr/local" --no-audit --no-fund --loglevel=error "$package" >/dev/null \
    || die "npm install of $package for $name failed (is registry.npmjs.org reachable from this host?)"
  echo "$package" >"$ctx/.package"
}

build_agent() {
  local name=$1 package=${AGENT_PACKAGES[$1]} ctx="$CACHE_DIR/ctx/$1" hash
  hash=$({
    echo "$package"
    docker image inspect -f '{{.Id}}' agentbox/agent-shell:dev
  } | inputs_hash "$IMAGES_DIR/$name/Dockerfile")
  # The context is a few hundred MB: skip even sending it when nothing it depends on changed.
  if [ "$(image_inputs "agentbox/$name:dev")" = "$hash" ]; then
    step_done "up to date (agentbox/$name:dev, $package)"
    return
  fi
  stage_agent_package "$name" "$package" "$ctx"
  cp "$IMAGES_DIR/$name/Dockerfile" "$ctx/Dockerfile"
  docker_build "agentbox/$name:dev" "$ctx/Dockerfile" "$ctx" --label "$INPUTS_LABEL=$hash"
  step_done "built agentbox/$name:dev ($package)"
}

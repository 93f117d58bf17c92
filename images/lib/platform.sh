# Compiles the project and builds agentbox/platform:dev from a staged context. Sourced.

PLATFORM_TAG=agentbox/platform:dev

# tsc must pass: an image of half-compiled code would fail later and less clearly. It compiles
# into a fresh directory, not the repo's dist/, which keeps the output of deleted sources.
compile_project() {
  local out=$1
  (cd "$REPO_DIR" && npm run --silent build -- --outDir "$out") \
    || die "npm run build (tsc) failed: fix the errors above, then rerun images/build.sh"
  rm -rf "$out/test"
  find "$out" -name '*.map' -delete
}

# Production dependencies are installed once per package-lock.json and reused.
stage_node_modules() {
  local ctx=$1 lock_hash
  lock_hash=$(sha256sum "$REPO_DIR/package-lock.json" | cut -c1-16)
  if [ "$(cat "$CACHE_DIR/ctx/platform-modules/.lock-hash" 2>/dev/null)" != "$lock_hash" ]; then
    rm -rf "$CACHE_DIR/ctx/platform-modules"
    mkdir -p "$CACHE_DIR/ctx/platform-modules"
    cp "$REPO_DIR/package.json" "$REPO_DIR/package-lock.json" "$CACHE_DIR/ctx/platform-modules/"
    (cd "$CACHE_DIR/ctx/platform-modules" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
      || die "npm ci --omit=dev failed in $CACHE_DIR/ctx/platform-modules"
    # Type declarations and source maps are for editors and debuggers, not for running: about
    # half of @kubernetes/client-node's size.
    find "$CACHE_DIR/ctx/platform-modules/node_modules" -type f \
      \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
    echo "$lock_hash" >"$CACHE_DIR/ctx/platform-modules/.lock-hash"
  fi
  cp -a "$CACHE_DIR/ctx/platform-modules/node_modules" "$ctx/node_modules"
}

build_platform() {
  local ctx="$CACHE_DIR/ctx/platform"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  compile_project "$ctx/dist"
  cp "$REPO_DIR/package.json" "$ctx/"
  stage_node_modules "$ctx"
  docker_build "$PLATFORM_TAG" "$IMAGES_DIR/platform/Dockerfile" "$ctx"
  step_done "built $PLATFORM_TAG"
}

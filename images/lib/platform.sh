# Compiles the project and builds agentbox/platform:dev from a staged context. Sourced.

PLATFORM_TAG=agentbox/platform:dev

# tsc must pass: an image of half-compiled code would fail later and less clearly. It compiles
# into a fresh directory, not the repo's dist/, which keeps the output of deleted sources, and
# only the folders the image ships (images/tsconfig.platform.json), not the tests.
compile_project() {
  local out=$1
  (cd "$REPO_DIR" && node_modules/.bin/tsc -p images/tsconfig.platform.json --outDir "$out") \
    || die "tsc -p images/tsconfig.platform.json failed: fix the errors above, then rerun images/build.sh"
  rm -rf "$out/test"
  find "$out" -name '*.map' -delete
}

# The entry points on a session pod's start-up path (the capture init container and the sidecar,
# which the agent waits for) are bundled in place: loading ~200 small ES modules (zod, pino,
# node-vault, ...) dominated their start, and a bundle starts in about half the time. Their paths
# stay those of the contract; everything else stays tsc output. With --splitting, code behind a
# dynamic import (node-vault and its dependencies, which only a sidecar with a Vault credential
# loads) goes to chunks under sidecar/bundle/ that are read only when imported: ~1 MB less
# resident memory in an idle sidecar (test/bench/sidecar/README.md). A `require` shim lets the
# bundled CommonJS dependencies load Node's built-in modules.
BUNDLED_ENTRY_POINTS=(sidecar/main.js sidecar/capture-main.js)
bundle_entry_points() {
  local out=$1 staged="$1.bundled"
  rm -rf "$staged"
  "$REPO_DIR/node_modules/.bin/esbuild" "${BUNDLED_ENTRY_POINTS[@]/#/$out/}" --bundle --splitting --platform=node --format=esm --target=node20 \
    --banner:js="import { createRequire as __agentboxRequire } from 'node:module'; const require = __agentboxRequire(import.meta.url);" \
    --log-level=warning --outbase="$out" --outdir="$staged" --chunk-names="sidecar/bundle/[name]-[hash]" \
    || die "esbuild could not bundle ${BUNDLED_ENTRY_POINTS[*]} (it is a devDependency: npm ci)"
  cp -a "$staged/." "$out/"
  rm -rf "$staged"
  # The operator, bundled on its own (its chunks must not change the sidecar's): the same
  # @kubernetes/client-node holds ~125 MB resident as ~1000 modules and ~72 MB bundled, most of
  # the operator's memory (test/bench/operator/bench.ts runs this same bundle).
  "$REPO_DIR/node_modules/.bin/esbuild" "$out/operator/main.js" --bundle --platform=node --format=esm --target=node20 \
    --banner:js="import { createRequire as __agentboxRequire } from 'node:module'; const require = __agentboxRequire(import.meta.url);" \
    --log-level=warning --outfile="$out/operator/main.bundled.js" \
    || die "esbuild could not bundle operator/main.js (it is a devDependency: npm ci)"
  mv "$out/operator/main.bundled.js" "$out/operator/main.js"
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
  # After staging: the bundles take their dependencies from the production node_modules.
  # AGENTBOX_BUNDLE=0 ships plain tsc output, to compare start-up times or rule the bundle out.
  [ "${AGENTBOX_BUNDLE:-1}" = 0 ] || bundle_entry_points "$ctx/dist"
  docker_build "$PLATFORM_TAG" "$IMAGES_DIR/platform/Dockerfile" "$ctx"
  step_done "built $PLATFORM_TAG"
}

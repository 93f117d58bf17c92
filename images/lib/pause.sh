# Builds the pod sandbox image from images/pause/pause.c. Sourced.

build_pause() {
  local ctx="$CACHE_DIR/ctx/pause"
  command -v gcc >/dev/null || die "no gcc: install Debian's gcc and libc6-dev"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  # Static: the image has no libc to link against.
  gcc -Os -static -s -Wall -Wextra -Werror -o "$ctx/pause" "$IMAGES_DIR/pause/pause.c" \
    || die "compiling images/pause/pause.c failed (static linking needs libc6-dev)"
  docker_build "$PAUSE_TAG" "$IMAGES_DIR/pause/Dockerfile" "$ctx"
  step_done "built $PAUSE_TAG ($(stat -c %s "$ctx/pause") byte binary)"
}

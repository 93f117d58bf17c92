# Saves images as docker-archive tars for images/load.sh. Sourced.

# Image tag -> tar file under $CACHE_DIR.
image_tar() {
  local name=${1#*/}
  echo "$CACHE_DIR/${name//[\/:]/_}.tar"
}

# Skips the save when the tar already holds this image ID (recorded beside it).
save_image() {
  local tag=$1 tar id
  tar=$(image_tar "$tag")
  id=$(docker image inspect -f '{{.Id}}' "$tag")
  if [ -f "$tar" ] && [ "$(cat "$tar.id" 2>/dev/null)" = "$id" ]; then
    echo "      $(basename "$tar"): unchanged"
    return
  fi
  docker save --output "$tar.partial" "$tag"
  mv "$tar.partial" "$tar"
  echo "$id" >"$tar.id"
  echo "      saved $(basename "$tar") ($(du -m "$tar" | cut -f1) MB)"
}

# Makes debian:bookworm-slim from Debian packages with debootstrap and `docker import`. Sourced.
#
# Tagged with the official name so that `FROM debian:bookworm-slim` in ordinary Dockerfiles
# builds here unmodified; the rootfs tarball is cached keyed by a hash of its inputs.

DEBIAN_SUITE=bookworm
DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# The mirror apt on this host is configured with (first URIs of the deb822 sources file, or the
# first deb line of sources.list); AGENTBOX_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [ -n "${AGENTBOX_DEBIAN_MIRROR:-}" ]; then
    echo "$AGENTBOX_DEBIAN_MIRROR"
  elif [ -f "$DEBIAN_SOURCES" ]; then
    awk '$1 == "URIs:" { print $2; exit }' "$DEBIAN_SOURCES"
  else
    awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2); exit }' /etc/apt/sources.list
  fi
}

# Trims what a container never needs, the way the official slim images do, and keeps
# later apt installs from adding it back.
slim_rootfs() {
  local root=$1
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
CFG
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old
  find "$root/var/log" -type f -delete
  # The container runtime provides these per container.
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  : >"$root/etc/machine-id"
}

# Writes the cached rootfs tarball for the inputs hash $1 unless it exists; prints its path.
debian_rootfs_tarball() {
  local hash=$1 mirror=$2
  local tarball="$CACHE_DIR/rootfs-$DEBIAN_SUITE-minbase-$hash.tar.gz"
  if [ -f "$tarball" ]; then
    echo "$tarball"
    return
  fi
  command -v debootstrap >/dev/null || die "no debootstrap: install Debian's debootstrap (test/cluster/install-deps.sh does)"
  local root="$CACHE_DIR/rootfs.partial"
  rm -rf "$root"
  mkdir -p "$root"
  if ! debootstrap --variant=minbase --arch=amd64 "$DEBIAN_SUITE" "$root" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE_DIR/debootstrap.log" >&2
    die "debootstrap of $DEBIAN_SUITE from $mirror failed; full log: $CACHE_DIR/debootstrap.log"
  fi
  # Same repositories (including security) as this host, in the same deb822 form.
  if [ -f "$DEBIAN_SOURCES" ]; then
    cp "$DEBIAN_SOURCES" "$root/etc/apt/sources.list.d/debian.sources"
    rm -f "$root/etc/apt/sources.list"
  fi
  slim_rootfs "$root"
  tar --numeric-owner --xattrs -C "$root" -cf - . | gzip -1 >"$tarball.partial"
  mv "$tarball.partial" "$tarball"
  rm -rf "$root"
  echo "$tarball"
}

build_debian_base() {
  local tag=debian:bookworm-slim mirror hash tarball
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "cannot tell which Debian mirror apt uses; set AGENTBOX_DEBIAN_MIRROR"
  local sources=()
  [ -f "$DEBIAN_SOURCES" ] && sources=("$DEBIAN_SOURCES")
  hash=$(printf '%s %s minbase amd64\n' "$DEBIAN_SUITE" "$mirror" | inputs_hash "${BASH_SOURCE[0]}" "${sources[@]}")
  if [ "$(image_inputs "$tag")" = "$hash" ]; then
    step_done "up to date ($tag, inputs $hash)"
    return
  fi
  tarball=$(debian_rootfs_tarball "$hash" "$mirror")
  docker import \
    --change "ENV PATH=$DEFAULT_PATH" \
    --change 'CMD ["bash"]' \
    --change "LABEL $INPUTS_LABEL=$hash" \
    --message "debootstrap --variant=minbase $DEBIAN_SUITE $mirror" \
    "$tarball" "$tag" >/dev/null
  step_done "imported $tag from $(basename "$tarball")"
}

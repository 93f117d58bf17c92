#!/usr/bin/env bash
# Builds CoreDNS from its Go module, with only the plugins the cluster uses (coredns/main.go), into
# $AGENTBOX_CACHE/coredns-<version>/coredns. A finished build is kept and reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
version=$(sed -n 's#^require github.com/coredns/coredns \(v[0-9.]*\)$#\1#p' "$here/coredns/go.mod")
[ -n "$version" ] || { echo "cannot read the CoreDNS version from coredns/go.mod" >&2; exit 1; }
out="$cache/coredns-$version"
if [ -x "$out/coredns" ]; then echo "coredns $version: cached in $out"; exit 0; fi
echo "coredns $version: building (about 3 minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$out.partial"
cd "$here/coredns"
GOCACHE="$cache/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod \
  go build -trimpath -ldflags "-s -w" -o "$out.partial/coredns" .
rm -rf "$out"; mv "$out.partial" "$out"
echo "coredns $version: built in $(( $(date +%s) - start ))s -> $out"

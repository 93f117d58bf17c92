#!/usr/bin/env bash
# Builds CoreDNS from its Go module into $AGENTBOX_CACHE/coredns-<version>/coredns (kept and reused).
set -euo pipefail
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
version=v1.14.7
out="$cache/coredns-$version"
if [ -x "$out/coredns" ]; then echo "coredns $version: cached in $out"; exit 0; fi
echo "coredns $version: building (a few minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$out.partial"
GOCACHE="$cache/go-build" CGO_ENABLED=0 GOBIN="$out.partial" GOFLAGS=-mod=mod \
  go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$version"
rm -rf "$out"; mv "$out.partial" "$out"
echo "coredns $version: built in $(( $(date +%s) - start ))s -> $out"

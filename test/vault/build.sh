#!/usr/bin/env bash
# Builds the Vault server from its Go module (see go.mod) into $AGENTBOX_CACHE/vault-<version>/bin.
# A finished build is kept and reused: keyed by version. Prints the binary's path on stdout last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
version=$(sed -n "s#^[[:space:]]*github.com/hashicorp/vault v\([0-9.]*\).*#\1#p" "$here/go.mod" | head -1)
[ -n "$version" ] || { echo "cannot read the github.com/hashicorp/vault version from go.mod" >&2; exit 1; }
out="$cache/vault-v$version/bin"
if [ -x "$out/vault" ]; then echo "vault v$version: cached in $out" >&2; echo "$out/vault"; exit 0; fi

mkdir -p "$out.partial"
export GOCACHE="$cache/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "vault v$version: building (a cold build takes a long while on 2 shared cores)" >&2
start=$(date +%s)
cd "$here"
go build -trimpath -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=$version" \
  -o "$out.partial/vault" github.com/hashicorp/vault >&2 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 30 & wait $! || true
  kill -0 "$pid" 2>/dev/null && echo "  ...still compiling ($(( $(date +%s) - start ))s)" >&2
done
wait "$pid"
rm -rf "$out"; mv "$out.partial" "$out"
echo "vault v$version: built in $(( $(date +%s) - start ))s -> $out" >&2
echo "$out/vault"

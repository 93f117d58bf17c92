#!/usr/bin/env bash
# Builds the Vault server from its Go module (see go.mod) into $AGENTBOX_CACHE/vault-<version>/bin,
# from the Go module proxy and this folder only. A finished build is reused while its stamp (the
# version plus the hash of go.mod, go.sum and this script) matches. Prints the binary's path on
# stdout last; progress goes to stderr.
#
# Why not `go build github.com/hashicorp/vault` straight from the module: Vault's release tree is
# built against its own ./sdk directory, which matches no published github.com/hashicorp/vault/sdk
# version. With the sdk its go.mod names (v0.21.0) two signatures differ, so the module is copied
# out of the module cache and the three call sites are adapted (patch_vault below), then built with
# `replace github.com/hashicorp/vault => ./src`.
#
# usage: build.sh [--budget SECONDS]   (with a budget, a build still running after SECONDS is
# stopped and the script exits 0: npm run setup uses it so a new machine's CI fits its limit)
set -euo pipefail
budget=
if [ "${1:-}" = --budget ]; then
  budget=${2:?--budget needs a number of seconds}
  [[ "$budget" =~ ^[0-9]+$ ]] || { echo "--budget takes whole seconds, got '$budget'" >&2; exit 2; }
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--budget SECONDS]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
version=$(sed -n "s#^[[:space:]]*github.com/hashicorp/vault v\([0-9.]*\).*#\1#p" "$here/go.mod" | head -1)
[ -n "$version" ] || { echo "cannot read the github.com/hashicorp/vault version from go.mod" >&2; exit 1; }
root="$cache/vault-v$version"
out="$root/bin"
stamp="v$version $(cat "$here/go.mod" "$here/go.sum" "$0" | sha256sum | cut -c1-16)"
if [ -x "$out/vault" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "vault v$version: cached in $out" >&2
  echo "$out/vault"
  exit 0
fi

# Everything Go needs is in the module cache or the proxy; the build cache is shared and warm.
export GOCACHE="$cache/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || { echo "go is not on PATH: the Go toolchain is needed to build Vault" >&2; exit 1; }
start=$(date +%s)
say() { echo "vault v$version [$(( $(date +%s) - start ))s] $*" >&2; }

say "fetching the module (go mod download)"
module_dir=$(cd "$here" && go mod download -json "github.com/hashicorp/vault" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir" ] || { echo "go mod download gave no directory for github.com/hashicorp/vault v$version" >&2; exit 1; }

# A fixed path on purpose: Go's build-cache keys include the source directory, so a rebuild from
# the same place reuses every package already compiled.
build="$root/build"
rm -rf "$build"
mkdir -p "$build"
cp -r "$module_dir" "$build/src"
chmod -R u+w "$build/src"

# replace_once FILE OLD NEW: the literal OLD must occur exactly once in FILE (else Vault changed
# and the adaptation must be looked at again).
replace_once() {
  local file="$build/src/$1" count
  count=$(grep -cF -- "$2" "$file" || true)
  [ "$count" = 1 ] || { echo "adapting $1: expected one '$2', found $count" >&2; exit 1; }
  OLD="$2" NEW="$3" perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$file"
}

patch_vault() {
  # sdk v0.21.0: framework.Backend.ActivationFunc gets the activated flag's name as a third argument.
  replace_once vault/identity_store.go \
    'ActivationFunc: iStore.activateDeduplication,' \
    'ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },'
  replace_once vault/logical_system_activation_flags.go \
    'b.idStoreBackend.ActivationFunc(ctx, nil)' \
    'b.idStoreBackend.ActivationFunc(ctx, nil, activationflags.IdentityDeduplication)'
  # sdk v0.21.0: keysutil.LockManager.RestorePolicy returns only an error. The restored name only
  # labels an observation record, so the requested name stands in for it.
  replace_once builtin/logical/transit/path_restore.go \
    'restoredKeyName, err := b.lm.RestorePolicy(' \
    'restoredKeyName, err := keyName, b.lm.RestorePolicy('
}
say "adapting the module copy in $build/src to the published sdk"
patch_vault

# The wrapper module (go.mod here pins every dependency) with Vault itself replaced by the copy.
cp "$here/go.mod" "$here/go.sum" "$build/"
echo 'replace github.com/hashicorp/vault => ./src' >>"$build/go.mod"

say "compiling (nice 19; a cold build takes over an hour on 2 shared cores, a warm one minutes)"
mkdir -p "$out.partial"
cd "$build"
log="$root/build.log"
# Its own process group (setsid), so a budget that runs out stops the compiler too. -v names each
# package as it is compiled: the progress a person watching wants to see.
setsid nice -n 19 go build -v -trimpath -ldflags "-s -w" -o "$out.partial/vault" github.com/hashicorp/vault >"$log" 2>&1 &
pid=$!
printed=0
last_beat=$(date +%s)
show_new_lines() {
  local total
  total=$(wc -l <"$log")
  if [ "$total" -gt "$printed" ]; then
    tail -n "+$((printed + 1))" "$log" | head -n "$((total - printed))" | while IFS= read -r line; do say "$line"; done
    printed=$total
    last_beat=$(date +%s)
  fi
}
while kill -0 "$pid" 2>/dev/null; do
  sleep 5 & wait $! || true
  show_new_lines
  if [ $(( $(date +%s) - last_beat )) -ge 60 ]; then say "...still compiling"; last_beat=$(date +%s); fi
  if [ -n "$budget" ] && [ $(( $(date +%s) - start )) -ge "$budget" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    say "not finished within the ${budget}s budget: what compiled is kept in $GOCACHE, so the next run resumes; the Vault tests skip until then"
    exit 0
  fi
done
status=0
wait "$pid" || status=$?
show_new_lines
[ "$status" = 0 ] || { echo "vault v$version: go build failed (exit $status); its output is above and in $log" >&2; exit 1; }
[ -x "$out.partial/vault" ] || { echo "vault v$version: the build failed (see above)" >&2; exit 1; }
"$out.partial/vault" version >&2
echo "$stamp" >"$out.partial/stamp"
rm -rf "$out"
mv "$out.partial" "$out"
rm -rf "$build" "$log"
say "built -> $out"
echo "$out/vault"

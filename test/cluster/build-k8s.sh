#!/usr/bin/env bash
# Builds the upstream Kubernetes components from the k8s.io/kubernetes Go module (see k8s/go.mod)
# into $AGENTBOX_CACHE/k8s-<version>/bin. A finished build is kept and reused: keyed by version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
version=$(sed -n "s#^[[:space:]]*k8s.io/kubernetes v\([0-9.]*\).*#\1#p" "$here/k8s/go.mod" | head -1)
[ -n "$version" ] || { echo "cannot read the k8s.io/kubernetes version from k8s/go.mod" >&2; exit 1; }
out="$cache/k8s-v$version/bin"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

complete=1
for c in "${components[@]}"; do [ -x "$out/$c" ] || complete=0; done
if [ "$complete" = 1 ]; then echo "kubernetes v$version: cached in $out"; exit 0; fi

major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "$out.partial"
export GOCACHE="$cache/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "kubernetes v$version: building ${components[*]} (a cold build takes 20-40 minutes on 2 cores)"
start=$(date +%s)
cd "$here/k8s"
pkgs=(); for c in "${components[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
# One go build for all components so they share one compile of the common packages.
go build -trimpath -ldflags "-s -w$stamp" -o "$out.partial/" "${pkgs[@]}" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 30 & wait $! || true
  kill -0 "$pid" 2>/dev/null && echo "  ...still compiling ($(( $(date +%s) - start ))s)"
done
wait "$pid"
rm -rf "$out"; mv "$out.partial" "$out"
echo "kubernetes v$version: built in $(( $(date +%s) - start ))s -> $out"

#!/usr/bin/env bash
# Builds helm and kubeconform from their Go modules (no prebuilt binary can be downloaded here)
# into $AGENTBOX_CACHE/helm-<version>/ and $AGENTBOX_CACHE/kubeconform-<version>/. A finished
# build is kept and reused, keyed by version. Prints the two binaries' paths.
set -euo pipefail
cache=${AGENTBOX_CACHE:-/var/cache/agentbox}
helm_version=${HELM_VERSION:-v3.22.0}
kubeconform_version=${KUBECONFORM_VERSION:-v0.8.0}
export GOCACHE="$cache/go-build" CGO_ENABLED=0 GOFLAGS=-mod=mod

# build NAME VERSION PACKAGE LDFLAGS
build() {
  local name=$1 version=$2 pkg=$3 ldflags=$4
  local out="$cache/$name-$version"
  if [ -x "$out/$name" ]; then echo "$name $version: cached in $out" >&2; echo "$out/$name"; return; fi
  echo "$name $version: building $pkg (a few minutes on 2 cores)" >&2
  local start; start=$(date +%s)
  rm -rf "$out.partial"; mkdir -p "$out.partial"
  GOBIN="$out.partial" go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  rm -rf "$out"; mv "$out.partial" "$out"
  echo "$name $version: built in $(( $(date +%s) - start ))s -> $out/$name" >&2
  echo "$out/$name"
}

build helm "$helm_version" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$helm_version"
build kubeconform "$kubeconform_version" github.com/yannh/kubeconform/cmd/kubeconform ""

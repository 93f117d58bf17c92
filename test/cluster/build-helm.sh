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

# Helm's release builds stamp the Kubernetes version of their client-go as the default for
# `helm template` capabilities and lint deprecations; without it they default to 1.20.
helm_gomod=$(go mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
k8s_minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$helm_gomod" | head -1)
[ -n "$k8s_minor" ] || { echo "cannot read helm's client-go version from $helm_gomod" >&2; exit 1; }
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
build helm "$helm_version" helm.sh/helm/v3/cmd/helm "$helm_ldflags"
build kubeconform "$kubeconform_version" github.com/yannh/kubeconform/cmd/kubeconform ""

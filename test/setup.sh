#!/usr/bin/env bash
# Prepares a machine for every test tier (as root): Debian packages, then the tools that cannot be
# downloaded here and are built from their Go modules or Debian packages instead. Each build is
# cached under /var/cache/agentbox keyed by version, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== setup [$(( $(date +%s) - start ))s] $*"; }
# CI runs without a login shell's PATH; Go's official install puts the toolchain here.
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"

step "Debian packages"
bash test/cluster/install-deps.sh
step "Kubernetes components (k8s.io/kubernetes module)"
bash test/cluster/build-k8s.sh
step "CoreDNS"
bash test/cluster/build-coredns.sh
step "helm and kubeconform"
bash test/cluster/build-helm.sh >/dev/null
step "Vault server (test/vault/build.sh: cached by version; a cold build stops at its budget and resumes next run)"
bash test/vault/build.sh --budget "${AGENTBOX_VAULT_BUILD_SECONDS:-1500}" >/dev/null
step "images (pause, platform, agent-shell)"
bash images/build.sh pause platform agent-shell
step "done"

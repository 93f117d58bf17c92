#!/usr/bin/env bash
# Prepares a machine for every test tier (as root): Debian packages, then the tools that cannot be
# downloaded here and are built from their Go modules or Debian packages instead. Each build is
# cached under /var/cache/agentbox keyed by version, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== setup [$(( $(date +%s) - start ))s] $*"; }

step "Debian packages"
bash test/cluster/install-deps.sh
step "Kubernetes components (k8s.io/kubernetes module)"
bash test/cluster/build-k8s.sh
step "CoreDNS"
bash test/cluster/build-coredns.sh
step "helm and kubeconform"
bash test/cluster/build-helm.sh >/dev/null
# The Vault server is not built here yet: Vault v1.21.4's code matches no published vault/sdk
# release (see docs/vault.md), so its build fails after about an hour. `npm run vault:build` tries
# it; the Vault tests skip, naming the reason, until it succeeds.
step "images (pause, platform, agent-shell)"
bash images/build.sh pause platform agent-shell
step "done"

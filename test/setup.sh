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
# Vault is by far the largest build (longer than all of Kubernetes on 2 cores). It gets a time
# budget so a new machine's CI still fits its limit; Go's build cache keeps every package compiled
# so far, so the next run resumes where this one stopped. Until it is built, the Vault tests skip
# and say so.
budget=${AGENTBOX_VAULT_BUILD_SECONDS:-1500}
step "Vault server (time budget ${budget}s)"
# Its own process group, so the budget stops the compiler too, not only the script.
setsid bash test/vault/build.sh >/dev/null &
vault_pid=$!
vault_deadline=$(( $(date +%s) + budget ))
while kill -0 "$vault_pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$vault_deadline" ]; then
    kill -TERM -- "-$vault_pid" 2>/dev/null || true
    echo "setup: the Vault build did not finish within ${budget}s; its progress is cached, run setup again to resume"
    break
  fi
  sleep 5
done
wait "$vault_pid" 2>/dev/null || true
step "images (pause, platform, agent-shell)"
bash images/build.sh pause platform agent-shell
step "done"

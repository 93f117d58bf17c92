#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster need. Idempotent; run as root.
set -euo pipefail
packages=(
  etcd-server containerd runc containernetworking-plugins iptables conntrack iproute2 ethtool socat kmod
  docker.io debootstrap
  chromium curl openssl
)
missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's packages start services through systemd/init scripts where present; the cluster runs its
# own instances with its own configuration, so stop any that an install started.
for svc in etcd containerd docker; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "system packages: ok"

# Makes sure a Docker engine answers, starting a private dockerd when none does. Sourced.
#
# The daemon keeps its data under /var/lib/agentbox/docker and runs its own managed containerd
# under /run/agentbox/docker, so it never touches the cluster's containerd
# (/run/agentbox/containerd/containerd.sock). It is started with --iptables=false and
# --bridge=none: Docker's default bridge sets the iptables FORWARD policy to DROP, which would
# break the cluster's pod network on the same host. Builds use --network host instead.

DOCKERD_DATA_ROOT=${AGENTBOX_DOCKERD_DATA_ROOT:-/var/lib/agentbox/docker}
DOCKERD_EXEC_ROOT=/run/agentbox/docker
DOCKERD_LOG=/var/log/agentbox/dockerd.log

ensure_docker() {
  command -v docker >/dev/null || die "no docker client: install Debian's docker.io (test/cluster/install-deps.sh does)"
  if docker info >/dev/null 2>&1; then
    step_done "already running"
    return
  fi
  command -v dockerd >/dev/null || die "no dockerd: install Debian's docker.io (test/cluster/install-deps.sh does)"
  mkdir -p "$DOCKERD_DATA_ROOT" "$DOCKERD_EXEC_ROOT" "$(dirname "$DOCKERD_LOG")"
  setsid nohup dockerd \
    --data-root "$DOCKERD_DATA_ROOT" \
    --exec-root "$DOCKERD_EXEC_ROOT" \
    --pidfile "$DOCKERD_EXEC_ROOT/dockerd.pid" \
    --iptables=false --ip-masq=false --bridge=none \
    >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local deadline=$(($(date +%s) + 60))
  until docker info >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 20 "$DOCKERD_LOG" >&2
      die "dockerd did not answer within 60s; its log is $DOCKERD_LOG"
    fi
    sleep 0.5
  done
  step_done "started dockerd (pid $(cat "$DOCKERD_EXEC_ROOT/dockerd.pid"), log $DOCKERD_LOG)"
}

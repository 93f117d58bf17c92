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

start_dockerd() {
  mkdir -p "$DOCKERD_DATA_ROOT" "$DOCKERD_EXEC_ROOT" "$(dirname "$DOCKERD_LOG")"
  setsid nohup dockerd \
    --data-root "$DOCKERD_DATA_ROOT" \
    --exec-root "$DOCKERD_EXEC_ROOT" \
    --pidfile "$DOCKERD_EXEC_ROOT/dockerd.pid" \
    --iptables=false --ip-masq=false --bridge=none \
    >>"$DOCKERD_LOG" 2>&1 </dev/null &
  started_pid=$!
}

ensure_docker() {
  command -v docker >/dev/null || die "no docker client: install Debian's docker.io (test/cluster/install-deps.sh does)"
  if docker info >/dev/null 2>&1; then
    step_done "already running"
    return
  fi
  command -v dockerd >/dev/null || die "no dockerd: install Debian's docker.io (test/cluster/install-deps.sh does)"
  local deadline=$(($(date +%s) + 90)) old_pid
  started_pid=
  until docker info >/dev/null 2>&1; do
    if [ -n "$started_pid" ]; then
      kill -0 "$started_pid" 2>/dev/null || { tail -n 20 "$DOCKERD_LOG" >&2; die "dockerd exited at start-up; its log is $DOCKERD_LOG"; }
    else
      # A dockerd of ours still starting or shutting down holds the pidfile: a second one
      # would exit at once, so wait for that one to answer or to be gone.
      old_pid=$(cat "$DOCKERD_EXEC_ROOT/dockerd.pid" 2>/dev/null || true)
      if [ -z "$old_pid" ] || ! kill -0 "$old_pid" 2>/dev/null; then start_dockerd; fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 20 "$DOCKERD_LOG" >&2
      die "dockerd did not answer within 90s; its log is $DOCKERD_LOG"
    fi
    sleep 0.5
  done
  step_done "started dockerd (pid $(cat "$DOCKERD_EXEC_ROOT/dockerd.pid"), log $DOCKERD_LOG)"
}

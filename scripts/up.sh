#!/usr/bin/env bash
# The quickstart (`npm run up`): brings the local cluster up unless one is reachable, builds and
# loads the images, installs the chart with the example templates, and prints the web UI's URL
# and a token to sign in with. Idempotent: run it again after changing the code.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export KUBECONFIG=${KUBECONFIG:-/var/lib/agentbox/cluster/admin.kubeconfig}
KUBECTL=${KUBECTL:-/var/cache/agentbox/k8s-v1.34.4/bin/kubectl}
HELM=${HELM:-/var/cache/agentbox/helm-v3.22.0/helm}
RELEASE=${AGENTBOX_RELEASE:-agentbox}
SYSTEM_NS=${AGENTBOX_SYSTEM_NAMESPACE:-agentbox-system}
SESSION_NS=${AGENTBOX_NAMESPACE:-default}
NODE_ADDRESS=10.217.0.1
NODE_PORT=${AGENTBOX_NODE_PORT:-30080}
URL="http://$NODE_ADDRESS:$NODE_PORT"
# The operator reconciles every namespace unless told one (e.g. on a cluster shared with tests).
WATCH_NS=${AGENTBOX_WATCH_NAMESPACE:-}

step() { printf '[up] %s\n' "$*" >&2; }

if [ -f "$KUBECONFIG" ] && [ -x "$KUBECTL" ] && "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
  step "cluster reachable ($KUBECONFIG)"
else
  step "no reachable cluster: bringing the local one up (test/cluster/up.sh)"
  bash test/cluster/up.sh
fi
[ -x "$HELM" ] || { step "building helm (test/cluster/build-helm.sh)"; bash test/cluster/build-helm.sh; }

step "building and loading images (platform, agent-shell)"
bash test/cluster/images/up.sh platform agent-shell

step "installing the chart: release $RELEASE in $SYSTEM_NS, templates in $SESSION_NS"
"$HELM" upgrade --install "$RELEASE" helm/agentbox --namespace "$SYSTEM_NS" --create-namespace \
  --set sessionApi.service.type=NodePort --set sessionApi.service.nodePort="$NODE_PORT" \
  --set "sessionApi.allowedOrigins[0]=$URL" \
  --set templates.install=true --set "templates.namespaces[0]=$SESSION_NS" \
  --set operator.watchNamespace="$WATCH_NS" \
  --wait --timeout 5m >/dev/null

# A person's sign-in: a ServiceAccount bound to the chart's agent-user role in the session
# namespace, and a short-lived token of it (TokenReview is how the session API checks it),
# issued for the session API's audience: it accepts no token made for anything else.
# The chart names its roles after the release (see helm/agentbox/README.md).
case "$RELEASE" in *agentbox*) AGENT_USER_ROLE="$RELEASE-agent-user" ;; *) AGENT_USER_ROLE="$RELEASE-agentbox-agent-user" ;; esac
step "creating ServiceAccount $SESSION_NS/agentbox-quickstart bound to $AGENT_USER_ROLE"
"$KUBECTL" -n "$SESSION_NS" create serviceaccount agentbox-quickstart --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" -n "$SESSION_NS" create rolebinding agentbox-quickstart --clusterrole="$AGENT_USER_ROLE" \
  --serviceaccount="$SESSION_NS:agentbox-quickstart" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
token=$("$KUBECTL" -n "$SESSION_NS" create token agentbox-quickstart --audience agentbox-session-api --duration=24h)

"$KUBECTL" -n "$SYSTEM_NS" get deploy -o wide >&2
cat <<MSG

agentbox is up.
  web UI:     $URL
  token:      $token
  (valid 24 h; a new one: $KUBECTL -n $SESSION_NS create token agentbox-quickstart --audience agentbox-session-api)

From a terminal:
  export AGENTBOX_URL=$URL AGENTBOX_NAMESPACE=$SESSION_NS AGENTBOX_TOKEN=<the token above>
  npx tsx cli/main.ts templates
  npx tsx cli/main.ts run -t shell-batch -- bash -c 'echo hello; exit 3'
Uninstall: $HELM uninstall $RELEASE -n $SYSTEM_NS
MSG

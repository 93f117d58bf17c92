#!/usr/bin/env bash
# Prints which cluster components run, the node's readiness and the kubeconfig path.
# Exits 0 only when every component runs and the node is Ready.
source "$(dirname "$0")/lib.sh"
ok=1
for name in "${COMPONENTS[@]}"; do
  if running "$name"; then printf '  %-24s running (pid %s)\n' "$name" "$(cat "$(pidfile "$name")")"
  else printf '  %-24s stopped\n' "$name"; ok=0; fi
done
if [ "$ok" = 1 ] && [ "$($KUBECTL get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
  echo "node $NODE_NAME: Ready (kubernetes v$K8S_VERSION)"
else
  echo "node $NODE_NAME: not ready"; ok=0
fi
echo "KUBECONFIG=$KUBECONFIG_PATH"
[ "$ok" = 1 ]

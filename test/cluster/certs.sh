# Generates the cluster's CA, component certificates, service-account keys and kubeconfigs once
# (sourced by up.sh; existing files are kept so kubeconfigs stay valid across restarts).
# shellcheck shell=bash

PKI=$STATE/pki

# cert NAME CN ORG USAGE [SAN...]: a certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=$3 usage=$4; shift 4
  [ -f "$PKI/$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  local ext="$PKI/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    if [ $# -gt 0 ]; then
      local sans=() s
      for s in "$@"; do
        if [[ $s =~ ^[0-9.]+$ ]]; then sans+=("IP:$s"); else sans+=("DNS:$s"); fi
      done
      echo "subjectAltName=$(IFS=,; echo "${sans[*]}")"
    fi
  } >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig NAME CERT: a kubeconfig for the API server authenticating with PKI/CERT.{crt,key}.
kubeconfig() {
  local file=$STATE/$1.kubeconfig c=$2
  [ -f "$file" ] && return 0
  cat >"$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: agentbox
  cluster:
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
    server: https://$NODE_IP:6443
users:
- name: $c
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$c.crt")
    client-key-data: $(base64 -w0 "$PKI/$c.key")
contexts:
- name: agentbox
  context: {cluster: agentbox, user: $c}
current-context: agentbox
KCFG
  chmod 600 "$file"
}

make_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  if [ ! -f "$PKI/ca.crt" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=agentbox-local-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$PKI/ca.crt" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" serverAuth \
    kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local \
    localhost "$NODE_NAME" 127.0.0.1 "$NODE_IP" "$KUBERNETES_SVC_IP"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client "" clientAuth
  cert admin kubernetes-admin system:masters clientAuth
  cert controller-manager system:kube-controller-manager "" clientAuth
  cert scheduler system:kube-scheduler "" clientAuth
  cert kube-proxy system:kube-proxy "" clientAuth
  cert kubelet "system:node:$NODE_NAME" system:nodes clientAuth
  cert kubelet-serving "system:node:$NODE_NAME" system:nodes serverAuth "$NODE_NAME" localhost 127.0.0.1 "$NODE_IP"
  cert coredns agentbox:coredns "" clientAuth
  if [ ! -f "$PKI/sa.key" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
    openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  for c in admin controller-manager scheduler kube-proxy kubelet coredns; do kubeconfig "$c" "$c"; done
}

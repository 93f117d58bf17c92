// The egress capture rules the init container installs in the pod's network namespace, built
// as iptables-restore input by a pure function. Everything the agent sends to a non-loopback
// address goes through the sidecar or nowhere: TCP 443 and 80 are redirected to the sidecar's
// transparent listeners, DNS to its responder, any other TCP is reset, and any other packet
// (UDP, QUIC, ICMP) is dropped. The sidecar's own uid is exempt, so its upstream connections
// leave normally; loopback is left alone so the agent can reach the explicit proxy. Nothing
// answers a peer outside the pod but the sidecar's admin port (the kubelet's probes): a
// connection to a port the agent listens on gets no reply, so it is no channel to the agent.

export interface CaptureOptions {
  sidecarUid: number;
  tlsPort: number;
  httpPort: number;
  dnsPort: number;
  /** The sidecar's admin port, the only one that answers peers outside the pod (probes). */
  adminPort: number;
}

export const DEFAULT_CAPTURE: CaptureOptions = { sidecarUid: 1337, tlsPort: 15002, httpPort: 15003, dnsPort: 15053, adminPort: 15021 };

const NAT_CHAIN = "AGENTBOX_OUTPUT";
const FILTER_CHAIN = "AGENTBOX_EGRESS";

/**
 * The iptables-restore (or ip6tables-restore) input. It replaces the nat and filter tables of
 * the namespace it is applied in: a pod's network namespace starts with them empty.
 */
export function captureRules(options: CaptureOptions, family: 4 | 6): string {
  const sidecar = `-m owner --uid-owner ${options.sidecarUid} -j RETURN`;
  const nat = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    `:${NAT_CHAIN} - [0:0]`,
    `-A OUTPUT -j ${NAT_CHAIN}`,
    `-A ${NAT_CHAIN} ${sidecar}`,
    // DNS first, so even a loopback resolver address is answered by the sidecar.
    `-A ${NAT_CHAIN} -p udp --dport 53 -j REDIRECT --to-ports ${options.dnsPort}`,
    `-A ${NAT_CHAIN} -p tcp --dport 53 -j REDIRECT --to-ports ${options.dnsPort}`,
    `-A ${NAT_CHAIN} -o lo -j RETURN`,
    `-A ${NAT_CHAIN} -p tcp --dport 443 -j REDIRECT --to-ports ${options.tlsPort}`,
    `-A ${NAT_CHAIN} -p tcp --dport 80 -j REDIRECT --to-ports ${options.httpPort}`,
    "COMMIT",
  ];
  const filter = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    `:${FILTER_CHAIN} - [0:0]`,
    `-A OUTPUT -j ${FILTER_CHAIN}`,
    // Replies on connections opened from outside are let out only from the admin port (the
    // kubelet's probes): some of their packets (TIME_WAIT ACKs, resets) have no owning socket,
    // so the uid exemption misses them and the probe was reset about one time in two. Only a
    // connection the sidecar itself accepted gets that far: a SYN-ACK on the admin port from
    // anyone else (the agent, bound there while the sidecar restarts) is dropped first. Replies
    // from any other port (the agent's listeners, TCP or UDP) fall through to the drop below,
    // and the REPLY direction excludes every connection the pod opens itself.
    `-A ${FILTER_CHAIN} -p tcp --sport ${options.adminPort} --tcp-flags SYN SYN -m conntrack --ctdir REPLY -m owner ! --uid-owner ${options.sidecarUid} -j DROP`,
    `-A ${FILTER_CHAIN} -p tcp --sport ${options.adminPort} -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j RETURN`,
    `-A ${FILTER_CHAIN} ${sidecar}`,
    `-A ${FILTER_CHAIN} -o lo -j RETURN`,
    // What the nat rules redirected to the sidecar. (Its output interface still reads as the
    // original one here: the hook saw the route from before the redirect.)
    `-A ${FILTER_CHAIN} -m conntrack --ctstate DNAT -j RETURN`,
    // IPv6 needs neighbour discovery, which the kernel sends without an owner.
    ...(family === 6
      ? ["neighbour-solicitation", "neighbour-advertisement", "router-solicitation"].map(
          (type) => `-A ${FILTER_CHAIN} -p ipv6-icmp --icmpv6-type ${type} -j RETURN`,
        )
      : []),
    `-A ${FILTER_CHAIN} -p tcp -j REJECT --reject-with tcp-reset`,
    `-A ${FILTER_CHAIN} -j DROP`,
    "COMMIT",
  ];
  return `${[...nat, ...filter].join("\n")}\n`;
}

const CAPTURE_SCRIPT = [
  `printf '%s' "$1" | iptables-restore -w 5 || exit 1`,
  `if grep -qv ' lo$' /proc/net/if_inet6 2>/dev/null; then printf '%s' "$2" | ip6tables-restore -w 5 || exit 1; fi`,
  `echo "egress capture installed"`,
].join("\n");

/**
 * The init container's command: a shell applying both rule sets, IPv6 wherever it is up. A Node
 * process started only to pipe the rules into iptables-restore cost every pod ~0.3 s, seconds
 * when many pods start at once. (capture-main.js does the same by hand.)
 */
export function captureCommand(options: CaptureOptions): string[] {
  return ["sh", "-c", CAPTURE_SCRIPT, "egress-capture", captureRules(options, 4), captureRules(options, 6)];
}

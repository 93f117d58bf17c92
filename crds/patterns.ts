import { z } from "zod";

// Regular expressions are written in the subset shared by ECMAScript (zod) and RE2 (the API
// server's OpenAPI `pattern`), so the same text validates on both sides.

/** A DNS host name, or a wildcard `*.` followed by one, lower case. */
export const HOST_PATTERN = "^(\\*\\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** A POSIX-portable environment variable name. */
export const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";
/** An RFC 1123 DNS label, the shape of a credential or object name part. */
export const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** An HTTP header field name (RFC 9110 token). */
export const HEADER_NAME = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
/** A non-negative Kubernetes resource quantity such as `500m`, `2Gi`, `1.5`. */
export const QUANTITY = "^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[mkMGTPE]|([eE][+-]?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
/** An IPv4 or IPv6 CIDR block (shape only; the sidecar parses it with net.BlockList). */
export const CIDR = "^([0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$";

export const hostPattern = (description: string): z.ZodString =>
  z.string().min(1).max(253).regex(new RegExp(HOST_PATTERN), { message: "must be a lower-case host name such as api.example.com or a wildcard such as *.example.com" }).describe(description);

export const envName = (description: string): z.ZodString =>
  z.string().min(1).max(256).regex(new RegExp(ENV_NAME), { message: "must be an environment variable name: letters, digits and _, not starting with a digit" }).describe(description);

export const dnsLabel = (description: string): z.ZodString =>
  z.string().min(1).max(63).regex(new RegExp(DNS_LABEL), { message: "must be a DNS label: lower-case letters, digits and -, starting and ending with a letter or digit" }).describe(description);

export const quantity = (description: string): z.ZodString =>
  z.string().max(64).regex(new RegExp(QUANTITY), { message: "must be a Kubernetes quantity such as 500m, 2Gi or 10" }).describe(description);

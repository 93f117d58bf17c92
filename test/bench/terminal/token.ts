// Shared by the bench and its server process; a development-only static token.
export const BENCH_TOKEN = "bench-token-0123456789abcdef";

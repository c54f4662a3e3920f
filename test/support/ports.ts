/**
 * A loopback port that refuses connections: port 1 is privileged, so no test process (nor any
 * unprivileged process on the machine) can be listening on it. A port bound and then released
 * is not one: the gateway's own listeners, opened next on port 0, took such a port in about 1 of
 * 2,800 tests, turning an expected `upstream.unavailable` into `upstream.tls_error`.
 */
export const REFUSING_PORT = 1;

-- POST bodies of BENCH_BODY_BYTES bytes (default 1 MiB) to the URL's path (scenario 8:
-- streaming cost). Headers given with -H (credentials) are kept.
wrk.method = "POST"
wrk.body = string.rep("a", tonumber(os.getenv("BENCH_BODY_BYTES") or "1048576"))
wrk.headers["Content-Type"] = "application/octet-stream"

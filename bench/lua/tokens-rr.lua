-- Round robin over many credentials, one per line of a file.
-- Env: BENCH_TOKENS_FILE  one credential per line
--      BENCH_PATH         request path (default /)
--      BENCH_AUTH_PREFIX  prepended to each line in the Authorization header (default "Bearer ")
--      BENCH_START        index to start from (the runner passes where the previous run stopped,
--                         so a new wrk process does not replay tokens the cache still holds)
-- Every request is prebuilt in init() (wrk.format), so the per-request cost in wrk is a table
-- index. Each wrk thread starts at its own offset so threads do not send the same token together.
local requests = {}
local n = 0
local i = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local file = os.getenv("BENCH_TOKENS_FILE")
  local path = os.getenv("BENCH_PATH") or "/"
  local prefix = os.getenv("BENCH_AUTH_PREFIX") or "Bearer "
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format("GET", path, { ["Authorization"] = prefix .. line })
    end
  end
  if n == 0 then error("no credentials in " .. tostring(file)) end
  local start = tonumber(os.getenv("BENCH_START") or "0") or 0
  i = (start + (offset or 0) * math.floor(n / 16)) % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end

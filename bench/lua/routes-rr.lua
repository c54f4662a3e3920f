-- Requests spread over a large route table (scenario 7): round robin over BENCH_ROUTES routes
-- whose paths are /svc-NNNN/v<N mod 7> (bench/lib/portcullis.mjs routePath), each request to
-- <route>/items/42. The order is strided (7919 is prime) so consecutive requests hit routes far
-- apart in the table. Prebuilt in init().
local requests = {}
local n = 0
local i = 0

function init(args)
  n = tonumber(os.getenv("BENCH_ROUTES") or "10000")
  for k = 0, n - 1 do
    local r = (k * 7919) % n
    requests[k + 1] = wrk.format("GET", string.format("/svc-%04d/v%d/items/42", r, r % 7))
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end

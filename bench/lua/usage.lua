-- POST /api/v1/usage, one credit per event, a unique idempotency key per request (run prefix, thread id, counter).
-- wrk -s usage.lua URL -- <apiKey> <runPrefix> <comma-separated website ids>
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[2]
  sites = {}
  for s in string.gmatch(args[3], "[^,]+") do table.insert(sites, s) end
  counter = 0
end
function request()
  counter = counter + 1
  local site = sites[(counter * 7 + tid) % #sites + 1]
  local body = '{"websiteId":"' .. site .. '","credits":1,"idempotencyKey":"' .. prefix .. "-" .. tid .. "-" .. counter .. '"}'
  return wrk.format("POST", "/api/v1/usage", nil, body)
end

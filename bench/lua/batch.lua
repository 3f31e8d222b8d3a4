-- POST /api/v1/usage/batch with N events of one credit each, every key unique (run prefix, thread id, batch, index).
-- wrk -s batch.lua URL -- <apiKey> <runPrefix> <comma-separated website ids> <events per batch>
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[2]
  sites = {}
  for s in string.gmatch(args[3], "[^,]+") do table.insert(sites, s) end
  size = tonumber(args[4])
  counter = 0
end
function request()
  counter = counter + 1
  local parts = {}
  for i = 1, size do
    parts[i] = '{"websiteId":"' .. sites[(i + counter) % #sites + 1] .. '","credits":1,"idempotencyKey":"' .. prefix .. "-" .. tid .. "-" .. counter .. "-" .. i .. '"}'
  end
  return wrk.format("POST", "/api/v1/usage/batch", nil, '{"events":[' .. table.concat(parts, ",") .. "]}")
end

-- Shared by the bench scripts: per-thread ids, status counting, and a JSON summary on stdout.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

s200, s402, sother = 0, 0, 0

function response(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 402 then s402 = s402 + 1
  else sother = sother + 1 end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("s200"); b = b + t:get("s402"); c = c + t:get("sother")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f,"s200":%d,"s402":%d,"sother":%d,"errConnect":%d,"errRead":%d,"errWrite":%d,"errTimeout":%d,"errStatus":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    a, b, c, e.connect, e.read, e.write, e.timeout, e.status))
end

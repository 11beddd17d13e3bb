-- wrk script: rotate over the request paths listed (one per line) in the file given after `--`.
--   wrk -t2 -c50 -d15s --latency -s bench/wrk/rotate.lua http://127.0.0.1:PORT -- /tmp/paths.txt
-- Each wrk thread starts at its own offset in the list, so threads do not ask for the same path at the same
-- time; with thousands of distinct paths (URNs, search terms read from the database) and a run shorter than
-- the list, almost every request misses the whole-page cache. A file with one path repeats that path (the
-- cached scenario, /healthz). `done` prints one machine-readable line that bench/bench_load.py parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  local n = tonumber(args[2] or "1")
  i = math.floor((tid or 0) * #paths / n)
  statuses = {}
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, count in pairs(s) do codes[code] = (codes[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(codes) do parts[#parts + 1] = string.format('"%d":%d', code, count) end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ",")))
end

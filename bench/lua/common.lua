-- Shared by every scenario script: bench/wrk.py prepends this file to the scenario's script.
-- Counts responses per status in each wrk thread, and done() prints one line
-- "BENCH_JSON {...}" (latency percentiles in microseconds, counts) that bench/wrk.py parses.
-- Arguments after "--" on the wrk command line reach init(args) as strings.

-- Keep in sync with bench/datagen.py: entity i has type TYPES[i % 10 + 1].
TYPES = {
  "Streetlight", "Streetlight", "Streetlight", "Streetlight", "Streetlight", "Streetlight",
  "WasteContainer", "WasteContainer", "ParkingSpot", "ParkingSpot",
}
NGSI = "/ngsi-ld/v1"

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- per-thread state (globals, so that done() can read them with thread:get)
statuses = {}
bad = 0
sample = ""

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- a 207 on a batch is a partial failure: it counts as an error too
  if status < 200 or status >= 300 or status == 207 then
    bad = bad + 1
    if sample == "" and body then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end

function entity_id(i)
  return "urn:ngsi-ld:" .. TYPES[i % 10 + 1] .. ":" .. i
end

function seed_random(base)
  math.randomseed(tonumber(base or 1) * 7919 + (tid or 0) * 104729)
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local by_status, total_bad, first_sample = {}, 0, ""
  for _, t in ipairs(threads) do
    local counts = t:get("statuses") or {}
    for code, n in pairs(counts) do
      by_status[tostring(code)] = (by_status[tostring(code)] or 0) + n
    end
    total_bad = total_bad + (t:get("bad") or 0)
    if first_sample == "" then first_sample = t:get("sample") or "" end
  end
  local parts = {}
  for code, n in pairs(by_status) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"http_errors": %d, "bad": %d, "statuses": {%s}, "sample": %s, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, total_bad,
    table.concat(parts, ", "), json_string(first_sample),
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9)))
end

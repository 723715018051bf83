-- wrk script of the REST benchmark (bench/http/run.py drives it; bench/http/README.md).
--
-- Sends, round-robin, the requests of the file named by the environment variable
-- WRK_REQUESTS: one request a line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty; the driver
-- writes single-line JSON, in which json.dumps escapes any tab). Every request is formatted
-- once in init(), so the per-request cost in wrk is a table lookup, not string building.
--
-- Each wrk thread starts at a different offset of the list, so that with several threads the
-- connections do not all send the same query at the same time (which would measure one
-- query's latency, not the category's).
--
-- done() prints one JSON line (the driver takes the last line starting with "{"): request
-- count, duration, the error counters (non-2xx/3xx answers are errors.status: the driver
-- rejects a point with any error) and wrk's latency percentiles in microseconds. wrk 4 is a
-- closed-loop load generator: a connection sends its next request when the previous answer
-- has arrived, so these are service times at that concurrency.

local file = os.getenv("WRK_REQUESTS")
local requests = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local f = assert(io.open(file, "r"), "cannot read WRK_REQUESTS=" .. tostring(file))
  for line in f:lines() do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t(.*)$")
    assert(method, "bad request line: " .. line)
    local headers = {}
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  f:close()
  assert(#requests > 0, "no requests in " .. file)
  -- 7919 is prime: thread offsets spread over the list whatever its length.
  position = ((thread_index or 0) * 7919) % #requests
end

function request()
  position = position + 1
  if position > #requests then
    position = 1
  end
  return requests[position]
end

function done(summary, latency, requests_)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"mean_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end

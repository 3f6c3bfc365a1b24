-- wrk script for bench_http.py: every request a different pre-signed Alexa envelope.
--
--   wrk -s wrk_alexa.lua URL -- POOL_FILE CERT_URL THREADS
--
-- POOL_FILE has one request a line, "<Signature-256>\t<body>". Each wrk thread takes every
-- THREADS-th line starting at its own index, so no body is sent twice while the pool lasts; if a
-- thread runs out it starts over and counts that in `wrapped`, which done() reports.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local requests = {}
local next_index = 0
wrapped = 0

function init(args)
  local pool, cert_url, count = args[1], args[2], tonumber(args[3])
  local line_no = 0
  for line in io.lines(pool) do
    if line_no % count == tid then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/alexa", {
        ["Content-Type"] = "application/json",
        ["SignatureCertChainUrl"] = cert_url,
        ["Signature-256"] = signature,
      }, body)
    end
    line_no = line_no + 1
  end
end

function request()
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
    wrapped = wrapped + 1
  end
  return requests[next_index]
end

function done(summary, latency, _)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), wraps))
end

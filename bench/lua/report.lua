-- Shared by every bench script (loaded with dofile): counts non-2xx answers and, when the run
-- ends, prints one machine-readable line that bench/wrk.py parses:
--   BENCH_JSON {"requests": ..., "duration_us": ..., "p50_us": ..., ...}
-- wrk runs this file once in its main Lua state (setup, done) and once per thread (response).

local threads = {}

-- Per-thread counter; each thread has its own Lua state, so this global is thread-local.
non2xx = 0

function setup(thread)
   table.insert(threads, thread)
end

function response(status, headers, body)
   -- wrk itself only counts status >= 400 as an error; a 3xx is no success for a benchmark either.
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local non2xx_total = 0
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, '
         .. '"min_us": %d, "max_us": %d, "mean_us": %.1f, '
         .. '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
         .. '"status_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9),
      latency.min, latency.max, latency.mean,
      non2xx_total, e.connect, e.read, e.write, e.status, e.timeout))
end

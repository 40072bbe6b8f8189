-- GET on one path, each connection waiting BENCH_PACE_MS (default 10) between its requests: a
-- probe of responsiveness (its latency) that does not itself take a core from what it watches.
-- wrk's latency is measured from sending to the answer, so the pause is not in it.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "10")

function delay()
  return pace_ms
end

-- POST /api/v1/products/recommendations with a JSON preference (BENCH_BODY overrides it).
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
   or '{"categories": ["books"], "price_range": "low", "limit": 10}'

-- GET the URL wrk is given, as the user whose access token is BENCH_ACCESS_TOKEN.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local token = os.getenv("BENCH_ACCESS_TOKEN") or error("BENCH_ACCESS_TOKEN is not set")
wrk.headers["Authorization"] = "Bearer " .. token

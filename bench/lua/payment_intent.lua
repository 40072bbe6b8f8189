-- POST /api/v1/payments/intents as the user whose access token is BENCH_ACCESS_TOKEN, with the
-- JSON body BENCH_BODY and an Idempotency-Key of its own on every request: random per wrk run (so
-- a warm-up's keys never come back in the measured run), the thread's number and a counter. Each
-- request therefore creates a payment and calls Stripe; a repeated key would measure the replay.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local token = os.getenv("BENCH_ACCESS_TOKEN") or error("BENCH_ACCESS_TOKEN is not set")
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")

local started = 0
local report_setup = setup

function setup(thread)
   report_setup(thread)
   started = started + 1
   thread:set("thread_number", started)
end

local prefix
local counter = 0

function init(args)
   local urandom = assert(io.open("/dev/urandom", "rb"))
   local bytes = urandom:read(8)
   urandom:close()
   prefix = "bench-" .. string.gsub(bytes, ".", function(c)
      return string.format("%02x", string.byte(c))
   end) .. "-" .. tostring(thread_number or 0) .. "-"
   wrk.method = "POST"
   wrk.body = body
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
   counter = counter + 1
   wrk.headers["Idempotency-Key"] = prefix .. counter
   return wrk.format()
end

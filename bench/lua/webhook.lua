-- POST /api/v1/payments/webhook with Stripe-signed events read from BENCH_WEBHOOK_EVENTS: one per
-- line, `<Stripe-Signature header>\t<JSON body>`, signed by bench/payments.py just before the run
-- (wrk's Lua cannot compute an HMAC, and the signatures are only valid for 5 minutes).
--
-- By default each line is sent once, in order, so every event id is new to the server. If the file
-- runs out, the last body goes with a signature that cannot verify: answered 400, so the run shows
-- errors rather than quietly measuring redeliveries. With BENCH_WEBHOOK_REPEAT=1 the lines are sent
-- round and round instead (the redelivery row: the same event again).
--
-- Only for `wrk -t1` (every bench run): threads would each read the whole file and send each
-- event once per thread.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local path = os.getenv("BENCH_WEBHOOK_EVENTS") or error("BENCH_WEBHOOK_EVENTS is not set")
local repeat_events = os.getenv("BENCH_WEBHOOK_REPEAT") == "1"

local started = 0
local report_setup = setup

function setup(thread)
   report_setup(thread)
   started = started + 1
   if started > 1 and not repeat_events then
      error("webhook.lua sends each event once: run it with one wrk thread (-t1)")
   end
end

local file
local events = {}
local next_index = 1
local last_body = "{}"

local function split(line)
   local signature, body = string.match(line, "^([^\t]+)\t(.+)$")
   if not signature then
      error("BENCH_WEBHOOK_EVENTS: a line is not `<signature>\\t<body>`")
   end
   return signature, body
end

function init(args)
   file = assert(io.open(path, "r"))
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if repeat_events then
      for line in file:lines() do
         local signature, body = split(line)
         local headers = { ["Content-Type"] = "application/json", ["Stripe-Signature"] = signature }
         table.insert(events, wrk.format(nil, nil, headers, body))
      end
      file:close()
      if #events == 0 then
         error("BENCH_WEBHOOK_EVENTS is empty")
      end
   end
end

function request()
   if repeat_events then
      local r = events[next_index]
      next_index = next_index % #events + 1
      return r
   end
   -- Read as sent: the file holds tens of thousands of events, no need to keep them in memory.
   local line = file:read("*l")
   local signature, body
   if line then
      signature, body = split(line)
      last_body = body
   else
      signature, body = "t=0,v1=exhausted", last_body
   end
   wrk.headers["Stripe-Signature"] = signature
   return wrk.format(nil, nil, nil, body)
end

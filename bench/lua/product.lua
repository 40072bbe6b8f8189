-- GET /api/v1/products/{id}, rotating over the ids in BENCH_PRODUCT_IDS (comma-separated), so
-- the run does not measure a single hot row.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local requests = {}
local next_index = 1

function init(args)
   local ids = os.getenv("BENCH_PRODUCT_IDS") or ""
   for id in string.gmatch(ids, "[^,]+") do
      -- Formatted once: request() then only hands out a prepared string.
      table.insert(requests, wrk.format("GET", "/api/v1/products/" .. id))
   end
   if #requests == 0 then
      error("BENCH_PRODUCT_IDS is empty")
   end
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end

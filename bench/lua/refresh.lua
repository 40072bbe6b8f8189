-- POST /api/v1/auth/refresh. A refresh token works once, so every answer's new refresh token is put
-- back in a pool and a later request spends it. BENCH_REFRESH_TOKENS holds more live sessions
-- (comma-separated) than there are connections, so no two requests in flight share a token: a
-- shared one would be refused as reuse and revoke its session, which the run would count as errors.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

local pool = {}
local count_non2xx = response

function init(args)
   local tokens = os.getenv("BENCH_REFRESH_TOKENS") or ""
   for token in string.gmatch(tokens, "[^,]+") do
      table.insert(pool, token)
   end
   if #pool == 0 then
      error("BENCH_REFRESH_TOKENS is empty")
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   -- An empty pool means answers failed: resend the last token, which the run counts as an error.
   local token = table.remove(pool, 1) or last_token
   last_token = token
   return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
   count_non2xx(status, headers, body)
   if status == 200 then
      local token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
      if token then
         table.insert(pool, token)
      end
   end
end

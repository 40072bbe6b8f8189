-- POST /api/v1/auth/login as an HTML form (OAuth2 password flow): BENCH_USERNAME, BENCH_PASSWORD.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

-- Percent-encodes a form value (application/x-www-form-urlencoded).
local function form_encode(value)
   return (string.gsub(value, "[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

local username = os.getenv("BENCH_USERNAME") or error("BENCH_USERNAME is not set")
local password = os.getenv("BENCH_PASSWORD") or error("BENCH_PASSWORD is not set")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=" .. form_encode(username) .. "&password=" .. form_encode(password)

-- GET on one path (wrk's URL); only adds the shared report.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")

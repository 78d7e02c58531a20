-- wrk script: CORS preflights of the callback from the gateway's origin (bench/load.py). Argument: origin=ORIGIN.
dofile((string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "") .. "report.lua")

local origin = "http://localhost:3004"

function init(args)
   origin = options(args).origin or origin
end

function request()
   sent = sent + 1
   return wrk.format("OPTIONS", nil, {
      ["Origin"] = origin, ["Access-Control-Request-Method"] = "POST",
      ["Access-Control-Request-Headers"] = "content-type,x-aeps-session",
   })
end

function outcome(status, headers, body)
   if status == 204 and (headers["Access-Control-Allow-Origin"] or headers["access-control-allow-origin"]) == origin then
      return "ok"
   end
   return "bad"
end

-- wrk script: eko-responses (bench/load.py) for the transactions a debit-hook run approved, one in ten for an
-- unknown client_ref_id. Arguments after `--`: tag=RUN and count=N (the debit-hook run's tag and how many
-- requests each of its threads sent; the same thread numbering is used), origin=ORIGIN.
dofile((string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "") .. "report.lua")

local tag, count, origin = "run", 1, "http://localhost:3004"
local counter = 0

function init(args)
   local opts = options(args)
   tag, count, origin = opts.tag or tag, tonumber(opts.count or "1"), opts.origin or origin
end

function request()
   counter = counter + 1
   sent = counter
   local k = (counter - 1) % count + 1
   local reference = string.format("BENCH%s-%d-%d", tag, id, k)
   if counter % 10 == 0 then reference = string.format("UNKNOWN%s-%d-%d", tag, id, counter) end
   local amount = k % 5 <= 2 and string.format("%d.00", 100 + 50 * (k % 199)) or "0.00"
   local body = string.format(
      '{"action":"eko-response","detail":{"client_ref_id":"%s","http_status":200,"response":{"status":0,' ..
      '"response_status_id":0,"response_type_id":1463,"message":"Transaction Successful","data":{"tx_status":"0",' ..
      '"amount":"%s","tid":"32%08d","bank_ref_num":"41%010d","aadhar":"XXXX XXXX 1234","sender_name":"Test User",' ..
      '"bank":"Example Bank","balance":"1520.00","commission":"1.50","tds":"0.08",' ..
      '"transaction_date":"01-01-24 10:00:00","comment":"Request Completed"}}}}',
      reference, amount, k, id * 100000000 + k)
   return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Origin"] = origin }, body)
end

function outcome(status, headers, body)
   if status == 200 and string.find(body, '"status":"received"', 1, true) then return "ok" end
   return "bad"
end

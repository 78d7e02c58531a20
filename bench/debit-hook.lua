-- wrk script: distinct, valid debit-hooks (bench/load.py). Arguments after `--`:
--   tokens=FILE (lines "token user_code", from the partner API), tag=RUN (in every client_ref_id), run=DIGIT
--   (in every customer_id, so runs on one database never share a customer), origin=ORIGIN.
-- Each request: a new client_ref_id (run, thread, counter) and a new 10-digit customer_id; types 2, 2, 2, 3, 4 in
-- turn (withdrawals of 100 to 10,000 rupees in steps of 50); the next session token in turn, sent as the body key
-- aeps_session and as the X-AePS-Session header alternately.
dofile((string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "") .. "report.lua")

local tokens, codes = {}, {}
local tag, run, origin = "run", "1", "http://localhost:3004"
local counter = 0

function init(args)
   local opts = options(args)
   tag, run, origin = opts.tag or tag, opts.run or run, opts.origin or origin
   for line in io.lines(opts.tokens) do
      local token, code = string.match(line, "^(%S+)%s+(%S+)$")
      if token then table.insert(tokens, token); table.insert(codes, code) end
   end
   assert(#tokens > 0, "no tokens in " .. tostring(opts.tokens))
end

function request()
   counter = counter + 1
   sent = counter
   local index = ((counter - 1) * 7 + id * 13) % #tokens + 1
   local token, code = tokens[index], codes[index]
   local kind = counter % 5
   local data
   -- Distinct for every (counter < 1,000,000, thread, run), scattered over 9000000000-9999999999 as real mobile
   -- numbers are (x -> 48271x mod 10^9 is a bijection), so the customer index is hit at random places.
   local customer = string.format("9%09d", ((counter * 1000 + id * 10 + tonumber(run)) * 48271) % 1000000000)
   if kind <= 2 then
      data = string.format('{"type":"2","amount":"%d","customer_id":"%s","user_code":"%s","bank_code":"607153"}',
         100 + 50 * (counter % 199), customer, code)
   elseif kind == 3 then
      data = string.format('{"type":"3","amount":"","customer_id":"%s","user_code":"%s","bank_code":"607153"}',
         customer, code)
   else
      data = string.format('{"type":4,"customer_id":"%s","user_code":"%s","bank_code":"508534"}', customer, code)
   end
   local params = kind <= 2 and '["customer_id","amount","user_code"]' or '["customer_id","user_code"]'
   local headers = { ["Content-Type"] = "application/json", ["Origin"] = origin }
   local extra = ""
   if counter % 2 == 0 then headers["X-AePS-Session"] = token
   else extra = string.format(',"aeps_session":"%s"', token) end
   local body = string.format(
      '{"action":"debit-hook","detail":{"client_ref_id":"BENCH%s-%d-%d","request_hash_params":%s,"data":%s,' ..
      '"url":"https://gateway.example/aeps/transaction","http_method":"POST","interaction_type_id":344}%s}',
      tag, id, counter, params, data, extra)
   return wrk.format("POST", nil, headers, body)
end

function outcome(status, headers, body)
   if status ~= 200 then return "bad" end
   if string.find(body, '"allow":true', 1, true) then return "ok" end
   if string.find(body, '"allow":false', 1, true) then return "refused" end
   return "bad"
end

-- Shared by the wrk scripts of bench/load.py: per-thread counters and one JSON line for the driver.
-- Each script sets `outcome(status, headers, body)` returning "ok", "refused" or "bad"; this file counts them per
-- thread, and done() prints `BENCHJSON {...}` with wrk's own numbers (latencies in microseconds).

threads = {}
thread_counter = 1

function setup(thread)
   thread:set("id", thread_counter)
   table.insert(threads, thread)
   thread_counter = thread_counter + 1
end

ok, refused, bad, sent = 0, 0, 0, 0
first_bad = ""

function response(status, headers, body)
   local kind = outcome(status, headers, body)
   if kind == "ok" then ok = ok + 1
   elseif kind == "refused" then
      refused = refused + 1
      if first_bad == "" then first_bad = string.sub(tostring(body), 1, 200) end
   else
      bad = bad + 1
      if first_bad == "" then first_bad = status .. " " .. string.sub(tostring(body), 1, 200) end
   end
end

local function quote(text)
   return '"' .. string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
   local total_ok, total_refused, total_bad, sample, per_thread = 0, 0, 0, "", {}
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_refused = total_refused + thread:get("refused")
      total_bad = total_bad + thread:get("bad")
      table.insert(per_thread, tostring(thread:get("sent")))
      if sample == "" then sample = thread:get("first_bad") end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,' ..
      '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f,"ok":%d,"refused":%d,"bad":%d,"sent":[%s],"sample":%s}\n',
      summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      total_ok, total_refused, total_bad, table.concat(per_thread, ","), quote(sample or "")))
end

-- Reads the arguments after `--` as key=value pairs.
function options(args)
   local result = {}
   for _, arg in ipairs(args) do
      local key, value = string.match(arg, "^([%w_]+)=(.*)$")
      if key then result[key] = value end
   end
   return result
end

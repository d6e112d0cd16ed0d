-- `now`: Redis's clock in milliseconds, so that hosts with skewed clocks agree on expiries.
local now
do
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

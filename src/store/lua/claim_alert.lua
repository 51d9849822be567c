-- Claims the right to alert a practice about a failing endpoint: at most one alert per
-- endpoint per window, whichever relay instance notices first.
-- KEYS[1]: the endpoint's alert key (keys::alerted).
-- ARGV[1]: now, Unix ms on the caller's clock; ARGV[2]: the window, ms.
-- Returns 1 (claimed: `now` is recorded, expiring after the window) or 0 (an alert was
-- claimed less than a window before `now`). Times are compared with the caller's clock,
-- not Redis's, so a relay whose clock a test moves forward sees the window pass.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '')
if last and now < last + window then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', window)
return 1

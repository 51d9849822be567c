-- Makes every queued message of one endpoint due now, except those under a live lease,
-- and records the new due time in their delivery-log records. Reads the whole
-- schedule: a practice's request, rare, against a queue that holds at most a day of
-- messages.
-- KEYS[1]: the due schedule (keys::QUEUE_DUE).
-- ARGV[1]: the endpoint id; ARGV[2]: now, Unix ms; ARGV[3]: the message key prefix;
-- ARGV[4]: the delivery-record key prefix.
-- Returns how many messages were made due.
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local n = 0
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[3] .. id, 'endpoint', 'leased_until')
  if f[1] == ARGV[1] and (not f[2] or tonumber(f[2]) <= now) then
    redis.call('ZADD', KEYS[1], 'XX', now, id)
    local d = ARGV[4] .. id
    if redis.call('EXISTS', d) == 1 then
      redis.call('HSET', d, 'next_attempt_ms', now)
    end
    n = n + 1
  end
end
return n

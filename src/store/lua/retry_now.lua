-- Makes every queued message of one endpoint in one partition due now, except those
-- under a live lease, and records the new due time in their delivery-log records.
-- Reads the partition's whole schedule: a practice's request, rare, against a queue
-- that holds at most a day of messages.
-- KEYS[1]: the partition's schedule (Partition::due).
-- ARGV[1]: the endpoint id; ARGV[2]: now, Unix ms; ARGV[3]: the partition's message
-- key prefix.
-- Returns how many messages were made due.
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local n = 0
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local f = redis.call('HMGET', key, 'endpoint', 'leased_until')
  if f[1] == ARGV[1] and (tonumber(f[2]) or 0) <= now then
    redis.call('ZADD', KEYS[1], 'XX', now, id)
    redis.call('HSET', key, 'next_attempt_ms', now)
    n = n + 1
  end
end
return n

-- Makes every queued message of one endpoint in one partition due now, except those
-- under a live lease (a score ending in half a millisecond, see claim.lua), and records
-- the new due time in their delivery-log records. Reads the partition's whole
-- schedule: a practice's request, rare, against a queue that holds at most a day of
-- messages.
-- KEYS[1]: the partition's schedule (Partition::due).
-- ARGV[1]: the endpoint id; ARGV[2]: now, Unix ms; ARGV[3]: the partition's message
-- key prefix.
-- Returns how many messages were made due.
local now = tonumber(ARGV[2])
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local n = 0
for i = 1, #later, 2 do
  local id = later[i]
  local score = tonumber(later[i + 1])
  if score == math.floor(score) then
    local key = ARGV[3] .. id
    if redis.call('HGET', key, 'endpoint') == ARGV[1] then
      redis.call('ZADD', KEYS[1], 'XX', now, id)
      redis.call('HSET', key, 'next_attempt_ms', now)
      n = n + 1
    end
  end
end
return n

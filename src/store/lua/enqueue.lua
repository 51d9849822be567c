-- Queues messages in one partition, atomically: for each, one hash holding the sealed
-- payload and the delivery-log record, its expiry, and its place in the schedule.
-- KEYS[1]: the partition's schedule (Partition::due).
-- ARGV[1]: the partition's message key prefix; ARGV[2]: '1' for a resend (the first
-- send's connection dropped, so it may have run: a message whose hash exists is left as
-- it is, since a worker may have taken or delivered it since), else '0'; then ten values
-- per message: id, endpoint, practitioner, expires (Unix ms), sealed, event, submission
-- (or ''), status, due (Unix ms), and when its hash expires (Unix ms: a day after
-- queueing, the delivery log's retention; the payload goes sooner, see the claim).
-- Returns how many were queued.
local resend = ARGV[2] == '1'
local n = 0
for i = 3, #ARGV, 10 do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  local due = ARGV[i + 8]
  if resend and redis.call('EXISTS', key) == 1 then
    -- Queued by the first send: left as it is.
  else
    -- Only what a new message has: no attempts yet, next attempt and last change at
    -- its creation (absent fields read so; each field costs memory while it waits).
    if ARGV[i + 6] == '' then
      redis.call('HSET', key, 'sealed', ARGV[i + 4], 'endpoint', ARGV[i + 1],
        'practitioner', ARGV[i + 2], 'expires', ARGV[i + 3], 'event', ARGV[i + 5],
        'status', ARGV[i + 7], 'created_ms', due)
    else
      redis.call('HSET', key, 'sealed', ARGV[i + 4], 'endpoint', ARGV[i + 1],
        'practitioner', ARGV[i + 2], 'expires', ARGV[i + 3], 'event', ARGV[i + 5],
        'submission', ARGV[i + 6], 'status', ARGV[i + 7], 'created_ms', due)
    end
    redis.call('PEXPIREAT', key, ARGV[i + 9])
    redis.call('ZADD', KEYS[1], due, id)
    n = n + 1
  end
end
return n

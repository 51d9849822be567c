-- Claims due messages of one partition under a lease, in one round trip. A message
-- past its expiry is purged as it comes due: its payload is deleted, its delivery-log
-- record marked expired and, if its event type is one the caller names, a notice
-- returned for the practice's other endpoints. Every due time is at most the message's
-- expiry (the delivery policy caps retries and waits), or a lease's end: a message is
-- found expired at its expiry, or at the latest when the lease of a worker that died
-- with it lapses; the whole hash, payload and record, goes a day after queueing in any
-- case (PEXPIREAT).
-- A lease is the message's score in the schedule: its end less half a millisecond. Due
-- times are whole milliseconds, so the half marks a message as claimed: a retry on
-- request leaves it alone while the lease runs, and a claim that finds one whose lease
-- lapsed knows its worker died mid-attempt and counts that attempt. An attempt is
-- otherwise counted when it is settled, so a claim writes nothing to the message.
-- KEYS[1]: the partition's schedule (Partition::due).
-- ARGV[1]: now, Unix ms; ARGV[2]: the lease, ms; ARGV[3]: how many to claim at most;
-- ARGV[4]: the partition's message key prefix; ARGV[5] onwards: the event types whose
-- expiry leaves a notice (the delivery policy decides which).
-- Returns two lists: `id, sealed, endpoint, practitioner, attempt, expires` per claimed
-- message (the attempt's number, this one included; each is due again when its lease
-- lapses), and one `msg|prac|endpoint|submission` notice per noticed expiry.
local now = tonumber(ARGV[1])
-- Half a millisecond before the lease's end, so that it is due at its end.
local lease_mark = (now + tonumber(ARGV[2]) - 1) .. '.5'
local noticed = {}
for i = 5, #ARGV do
  noticed[ARGV[i]] = true
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[3]))
local out = {}
local notices = {}
for i = 1, #due, 2 do
  local id = due[i]
  local score = tonumber(due[i + 1])
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'sealed', 'endpoint', 'practitioner', 'attempts',
    'expires', 'status', 'event', 'submission')
  if not f[1] or f[1] == '' or tonumber(f[5]) <= now then
    -- Expired (or its hash gone with its day): out of the schedule, payload deleted,
    -- an open record marked.
    redis.call('ZREM', KEYS[1], id)
    if f[6] == 'pending' or f[6] == 'retrying' or f[6] == 'awaiting_endpoint' then
      redis.call('HSET', key, 'sealed', '', 'status', 'expired', 'next_attempt_ms', '',
        'updated_ms', now)
      if noticed[f[7]] then
        table.insert(notices, id .. '|' .. f[3] .. '|' .. f[2] .. '|' .. (f[8] or ''))
      end
    elseif f[1] then
      redis.call('HSET', key, 'sealed', '')
    end
  else
    local attempts = tonumber(f[4]) or 0
    if score ~= math.floor(score) then
      -- A lapsed lease: the attempt its worker started counts.
      attempts = attempts + 1
      redis.call('HSET', key, 'attempts', attempts)
    end
    redis.call('ZADD', KEYS[1], lease_mark, id)
    table.insert(out, id)
    table.insert(out, f[1])
    table.insert(out, f[2])
    table.insert(out, f[3])
    table.insert(out, attempts + 1)
    table.insert(out, f[5])
  end
end
return {out, notices}

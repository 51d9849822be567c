-- Claims due messages under a lease, in one round trip. A message past its expiry, or
-- whose key is gone (its PEXPIREAT fired), is purged as it comes due: its delivery-log
-- record is marked expired and, if its event type is one the caller names, a notice is
-- queued for the practice's other endpoints. Every due time is at most the message's
-- expiry (the delivery policy caps retries and waits), or a lease's end: a message is
-- found expired at its expiry, or at the latest when the lease of a worker that died
-- with it lapses; its payload is gone at its expiry either way (PEXPIREAT).
-- KEYS[1]: the due schedule (keys::QUEUE_DUE), KEYS[2]: unused (formerly the expiry
-- index; kept so the script's keys stay in one slot), KEYS[3]: the expired-notice list
-- (keys::EXPIRED_NOTICES).
-- ARGV[1]: now, Unix ms; ARGV[2]: the lease, ms; ARGV[3]: how many to claim at most;
-- ARGV[4]: the message key prefix (keys::QUEUE_MESSAGE_PREFIX); ARGV[5]: the
-- delivery-record key prefix (keys::DELIVERY_PREFIX); ARGV[6] onwards: the event types
-- whose expiry leaves a notice (the delivery policy decides which).
-- Returns a flat list of `id, sealed, endpoint, practitioner, attempt, expires` per
-- claimed message; each claimed message is due again when its lease lapses.
local now = tonumber(ARGV[1])
local lease_until = now + tonumber(ARGV[2])
local noticed = {}
for i = 6, #ARGV do
  noticed[ARGV[i]] = true
end
local function mark_expired(id)
  local d = ARGV[5] .. id
  local st = redis.call('HGET', d, 'status')
  if st == 'pending' or st == 'retrying' or st == 'awaiting_endpoint' then
    redis.call('HSET', d, 'status', 'expired', 'next_attempt_ms', '', 'updated_ms', now)
    -- A notice for the practice's other endpoints (ids only), for the event types named.
    local f = redis.call('HMGET', d, 'event', 'practitioner', 'endpoint', 'submission')
    if noticed[f[1]] then
      redis.call('RPUSH', KEYS[3], id .. '|' .. f[2] .. '|' .. f[3] .. '|' .. (f[4] or ''))
    end
  end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'sealed', 'endpoint', 'practitioner', 'attempt', 'expires')
  if not f[1] then
    redis.call('ZREM', KEYS[1], id)
    mark_expired(id)
  elseif tonumber(f[5]) <= now then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    mark_expired(id)
  else
    redis.call('ZADD', KEYS[1], lease_until, id)
    -- The lease is remembered so that a retry on request leaves a message in flight
    -- alone; the attempt counted, in the same write.
    local attempt = tonumber(f[4]) + 1
    redis.call('HSET', key, 'leased_until', lease_until, 'attempt', attempt)
    table.insert(out, id)
    table.insert(out, f[1])
    table.insert(out, f[2])
    table.insert(out, f[3])
    table.insert(out, attempt)
    table.insert(out, f[5])
  end
end
return out

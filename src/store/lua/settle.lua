-- Settles a claimed message and records the attempt in its delivery-log record (the
-- same hash), in one atomic step.
-- KEYS[1]: the partition's schedule, KEYS[2]: the message's hash.
-- ARGV[1]: mode (`remove`, `reschedule` or `release`); ARGV[2]: the message id;
-- ARGV[3]: when it is due again, Unix ms; ARGV[4]: whether to log (`1`/`0`); then the
-- record's ARGV[5] status, ARGV[6] attempts, ARGV[7] next attempt, ARGV[8] last HTTP
-- status, ARGV[9] last error and ARGV[10] time.
-- A message is queued while it is in the schedule. One that is not any more is not
-- re-queued and its record not touched: the claim's purge marked it (expired) or
-- another worker settled it after this one's lease lapsed. Only a delivery is logged
-- regardless: a delivery is a delivery, whoever settled first. The claim counted
-- nothing: a reschedule counts its attempt (the log's count, or one more), a release
-- (handed back unattempted) only moves the due time. Returns 0 when the
-- message was gone and nothing was logged, 1 otherwise.
local mode = ARGV[1]
if mode == 'remove' then
  local queued = redis.call('ZREM', KEYS[1], ARGV[2]) == 1
  if not queued then
    -- Only a record that still exists is updated: an erased practice's records are
    -- gone for good (a write would bring one back, without its expiry).
    if ARGV[5] ~= 'delivered' or redis.call('EXISTS', KEYS[2]) == 0 then
      return 0
    end
  end
  -- The payload goes; the record stays, with the hash's expiry.
  if ARGV[4] == '1' then
    redis.call('HSET', KEYS[2], 'sealed', '', 'status', ARGV[5], 'attempts', ARGV[6],
      'next_attempt_ms', ARGV[7], 'last_http_status', ARGV[8], 'last_error', ARGV[9],
      'updated_ms', ARGV[10])
  else
    redis.call('HSET', KEYS[2], 'sealed', '')
  end
  return 1
end
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], 'status', ARGV[5], 'attempts', ARGV[6], 'next_attempt_ms',
    ARGV[7], 'last_http_status', ARGV[8], 'last_error', ARGV[9], 'updated_ms', ARGV[10])
elseif mode == 'reschedule' then
  -- A retry counts its attempt, logged or not.
  redis.call('HINCRBY', KEYS[2], 'attempts', 1)
end
return 1

-- Settles a claimed message and records the attempt in its delivery-log record, in one
-- atomic step (the record shares the queue's hash slot).
-- KEYS[1]: the due schedule, KEYS[2]: the message hash, KEYS[3]: unused (formerly the
-- expiry index), KEYS[4]: the delivery-log record.
-- ARGV[1]: mode (`remove`, `reschedule` or `release`); ARGV[2]: the message id;
-- ARGV[3]: when it is due again, Unix ms; ARGV[4]: whether to log (`1`/`0`); then the
-- record's ARGV[5] status, ARGV[6] attempts, ARGV[7] next attempt, ARGV[8] last HTTP
-- status, ARGV[9] last error and ARGV[10] time.
-- A message that is gone is not re-queued and its record not touched: the claim
-- script's purge marks it (expired) or another worker settled it after this one's
-- lease lapsed. Only a delivery is logged regardless: a delivery is a delivery,
-- whoever settled first. Returns 0 when the message was gone and nothing was logged, 1
-- otherwise.
local mode = ARGV[1]
local existed
if mode == 'remove' then
  existed = redis.call('DEL', KEYS[2]) == 1
  redis.call('ZREM', KEYS[1], ARGV[2])
  if not existed and ARGV[5] ~= 'delivered' then
    return 0
  end
else
  existed = redis.call('EXISTS', KEYS[2]) == 1
  if not existed then
    return 0
  end
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2])
  if mode == 'release' then
    redis.call('HINCRBY', KEYS[2], 'attempt', -1)
  end
  redis.call('HDEL', KEYS[2], 'leased_until')
end
-- Only an existing record is updated: an erased practice's records are gone for good
-- (a write would bring one back, without its expiry). A message's record outlives it
-- (a day from queueing against at most a day) and erasure removes both, so while the
-- message was there its record is too and need not be looked for.
if ARGV[4] == '1' and (existed or redis.call('EXISTS', KEYS[4]) == 1) then
  redis.call('HSET', KEYS[4], 'status', ARGV[5], 'attempts', ARGV[6], 'next_attempt_ms', ARGV[7],
    'last_http_status', ARGV[8], 'last_error', ARGV[9], 'updated_ms', ARGV[10])
end
return 1

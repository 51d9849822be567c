-- Hands a message awaiting an endpoint over to the practice's endpoint, keeping its
-- claim. KEYS[1]: the message hash, KEYS[2]: its delivery-log record (both in the
-- queue's slot). ARGV[1]: the reserved awaiting id, ARGV[2]: the new endpoint id,
-- ARGV[3]: the event sealed for the new endpoint, ARGV[4]: now (ms). Returns 1 if handed
-- over now, 0 if the message is gone or no longer awaits an endpoint.
if redis.call('HGET', KEYS[1], 'endpoint') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'endpoint', ARGV[2], 'sealed', ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'endpoint', ARGV[2], 'status', 'pending',
    'next_attempt_ms', ARGV[4], 'last_error', '', 'updated_ms', ARGV[4])
end
return 1

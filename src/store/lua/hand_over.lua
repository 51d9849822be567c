-- Hands a message awaiting an endpoint over to the practice's endpoint, keeping its
-- claim. KEYS[1]: the message's hash (payload and record). ARGV[1]: the reserved
-- awaiting id, ARGV[2]: the new endpoint id, ARGV[3]: the event sealed for the new
-- endpoint, ARGV[4]: now (ms). Returns 1 if handed over now, 0 if the message is gone
-- (delivered, dropped, expired) or no longer awaits an endpoint.
local f = redis.call('HMGET', KEYS[1], 'endpoint', 'sealed')
if f[1] ~= ARGV[1] or not f[2] or f[2] == '' then
  return 0
end
redis.call('HSET', KEYS[1], 'endpoint', ARGV[2], 'sealed', ARGV[3], 'status', 'pending',
  'next_attempt_ms', ARGV[4], 'last_error', '', 'updated_ms', ARGV[4])
return 1

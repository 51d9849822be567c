-- Replaces one endpoint's record only if the stored one is still at the expected
-- version (a compare-and-set), so that a change made from a stale read never undoes
-- another (a rotation, a URL change, a 410's disabling).
-- KEYS[1]: the practitioner's endpoints hash. ARGV[1]: the endpoint id, ARGV[2]: the
-- expected version, ARGV[3]: the new record (JSON). Returns 1 (written), 0 (the version
-- differs: stale) or -1 (no such endpoint). A record stored before versions were kept
-- counts as 0.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  return -1
end
local version = cjson.decode(current).version or 0
if version ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1

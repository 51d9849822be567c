-- Replaces a practitioner's record only if the stored one is still at the expected
-- version (a compare-and-set). KEYS[1]: the record. ARGV[1]: the expected version,
-- ARGV[2]: the new record (JSON). Returns 1 (written), 0 (the version differs: stale)
-- or -1 (no such record). A record stored before versions were kept counts as 0.
local current = redis.call('GET', KEYS[1])
if not current then
  return -1
end
local version = cjson.decode(current).version or 0
if version ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1

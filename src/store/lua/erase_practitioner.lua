-- Erases a practitioner's own keys (all in its hash slot) only if its record is still
-- at the version the caller read: the compare-and-set that keeps an erasure from going
-- ahead after its cancellation was written. A record stored before versions were kept
-- counts as version 0.
-- KEYS[1]: the record (keys::practitioner), KEYS[2]: its key records (keys::api_keys),
-- KEYS[3] onwards: its other keys (ranges, markers, consent versions, endpoints, keys
-- used, audit log), deleted with the first two.
-- ARGV[1]: the expected version, or '' when the caller read no record (then only while
-- there is still none, to clear the leftovers of an interrupted erasure).
-- Returns {0} (not erased: the record is not as the caller read it) or
-- {1, record, key record, ...}: erased; the record ('' if there was none) and the key
-- records, as they were, tell the caller which slug and key look-ups, kept in other
-- slots, to delete next.
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then
    return {0}
  end
else
  if not current then
    return {0}
  end
  local version = cjson.decode(current).version or 0
  if version ~= tonumber(ARGV[1]) then
    return {0}
  end
end
local out = {1, current or ''}
for _, rec in ipairs(redis.call('HVALS', KEYS[2])) do
  table.insert(out, rec)
end
redis.call('DEL', unpack(KEYS))
return out

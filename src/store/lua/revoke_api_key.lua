-- Revokes an API key unless it is the practitioner's last owner key, atomically (the
-- index and the last-used hash share the practitioner's slot).
-- KEYS[1]: the practitioner's key records (keys::api_keys), KEYS[2]: when each was
-- last used (keys::api_keys_used).
-- ARGV[1]: the key id.
-- Returns {0} (no such key), {2} (last owner) or {1, record} (revoked; the caller then
-- deletes the look-up by hash, which lives in another slot).
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return {0} end
if cjson.decode(rec).role == 'owner' then
  local owners = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    if cjson.decode(v).role == 'owner' then owners = owners + 1 end
  end
  if owners <= 1 then return {2} end
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return {1, rec}

-- Disables an endpoint after a 410, changing its `enabled` field alone: only if the
-- record still exists and its URL is still the one that answered. Its version moves on
-- like any other change's, so a change read before it is stale.
-- KEYS[1]: the practitioner's endpoints hash (keys::endpoints).
-- ARGV[1]: the endpoint id; ARGV[2]: the URL that answered.
-- Returns 1 if disabled now, 0 otherwise.
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return 0 end
local e = cjson.decode(rec)
if e.url ~= ARGV[2] or e.enabled == false then return 0 end
e.enabled = false
e.version = (tonumber(e.version) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(e))
return 1

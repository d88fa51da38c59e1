-- Removes one session; reports whether the user became offline.
-- KEYS: 1 gateways zset, 2 the user's hash, 3 the gateway's user set
-- ARGV: 1 gateway id, 2 session field "<gateway>/<session>", 3 user id, 4 now (ms),
--       5 last_seen (ms), 6 how long an offline user's hash (its last_seen) is kept (ms)
-- Returns 1 when the user's announced state flipped to offline (exactly one caller sees it).
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then
  return 0 -- unknown session, or a reaper already removed it
end
local now = tonumber(ARGV[4])
local own = ARGV[1] .. '/'
local stillOnGateway = false
local live = false
local alive = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local slash = string.find(field, '/', 1, true)
  if slash then
    if string.sub(field, 1, #own) == own then stillOnGateway = true end
    local gateway = string.sub(field, 1, slash - 1)
    if alive[gateway] == nil then
      local deadline = redis.call('ZSCORE', KEYS[1], gateway)
      alive[gateway] = deadline ~= false and tonumber(deadline) > now
    end
    if alive[gateway] then live = true end
  end
end
if not stillOnGateway then redis.call('SREM', KEYS[3], ARGV[3]) end
if live or redis.call('HDEL', KEYS[2], 'online') == 0 then return 0 end
redis.call('HSET', KEYS[2], 'seen', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1

-- Refreshes one gateway's registration and reaps gateways whose registration lapsed.
-- KEYS: 1 gateways zset (gateway id -> registration deadline ms)
-- ARGV: 1 gateway id, 2 now (ms), 3 registration ttl (ms), 4 key prefix,
--       5 how long an offline user's hash is kept (ms), 6 most gateways reaped per call
-- Returns { lapsed (1 when this gateway's registration had expired or never existed),
--           user id, last_seen, user id, last_seen, ... for users that went offline }.
-- The user hashes and gateway sets are named from the prefix here, not passed as KEYS:
-- this script needs every key on one Redis node (no Redis Cluster).
local gateways = KEYS[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local prefix = ARGV[4]
local own = redis.call('ZSCORE', gateways, ARGV[1])
local lapsed = (own == false or tonumber(own) <= now) and 1 or 0
redis.call('ZADD', gateways, now + ttl, ARGV[1])

local result = { lapsed }
local alive = {}
local function isAlive(gateway)
  if alive[gateway] == nil then
    local deadline = redis.call('ZSCORE', gateways, gateway)
    alive[gateway] = deadline ~= false and tonumber(deadline) > now
  end
  return alive[gateway]
end

local dead = redis.call('ZRANGEBYSCORE', gateways, '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[6]))
for i = 1, #dead, 2 do
  local gateway, deadline = dead[i], tonumber(dead[i + 1])
  local mark = gateway .. '/'
  local gatewayUsers = prefix .. 'gw:' .. gateway
  for _, user in ipairs(redis.call('SMEMBERS', gatewayUsers)) do
    local userKey = prefix .. 'user:' .. user
    local live = false
    for _, field in ipairs(redis.call('HKEYS', userKey)) do
      local slash = string.find(field, '/', 1, true)
      if slash then
        if string.sub(field, 1, #mark) == mark then
          redis.call('HDEL', userKey, field)
        elseif isAlive(string.sub(field, 1, slash - 1)) then
          live = true
        end
      end
    end
    if not live and redis.call('HDEL', userKey, 'online') == 1 then
      -- Last heard of when the gateway last refreshed its registration.
      local seen = tostring(deadline - ttl)
      redis.call('HSET', userKey, 'seen', seen)
      redis.call('PEXPIRE', userKey, ARGV[5])
      table.insert(result, user)
      table.insert(result, seen)
    end
  end
  redis.call('DEL', gatewayUsers)
  redis.call('ZREM', gateways, gateway)
end
return result

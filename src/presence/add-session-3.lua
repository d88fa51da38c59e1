-- Registers one session; reports whether the user became online.
-- KEYS: 1 gateways zset (gateway id -> registration deadline ms), 2 the user's hash,
--       3 the gateway's user set
-- ARGV: 1 gateway id, 2 session field "<gateway>/<session>", 3 user id, 4 now (ms),
--       5 the field's value: "d:<device id>", or "1" for a session of no device
-- Returns 1 when the user's announced state flipped to online (exactly one caller sees it).
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) <= tonumber(ARGV[4]) then
  return redis.error_reply('PRESENCE_NOT_REGISTERED gateway ' .. ARGV[1] .. ' has no fresh heartbeat')
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])
redis.call('PERSIST', KEYS[2])
redis.call('SADD', KEYS[3], ARGV[3])
return redis.call('HSETNX', KEYS[2], 'online', '1')

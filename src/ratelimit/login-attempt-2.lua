-- One login attempt for an account (src/ratelimit/login.ts): atomic, so parallel attempts
-- from several shards are counted one by one.
-- KEYS[1]: the attempt count; KEYS[2]: present while the account is closed (its PTTL is the wait).
-- ARGV: freeAttempts, baseMs, maxMs, forgetMs.
-- Returns 0 (counted: check the password) or the ms the account stays closed (not counted).
local closed = redis.call('PTTL', KEYS[2])
if closed > 0 then return closed end
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local free = tonumber(ARGV[1])
if n >= free then
  local wait = tonumber(ARGV[2]) * 2 ^ (n - free)
  local max = tonumber(ARGV[3])
  if wait > max then wait = max end
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(wait))
end
return 0

/**
 * The login throttle on Redis (see ./login.ts): every shard of a cluster counts an
 * account's attempts together, and the window is Redis's own key expiry, so the shards'
 * clocks need not agree.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LoginBackoffPolicy, LoginThrottle } from './login';

/** The Redis calls the throttle makes: its Lua script (EVALSHA, EVAL once when the server lacks it) and DEL. */
export interface LoginThrottleRedis {
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

export class RedisLoginThrottle implements LoginThrottle {
  constructor(
    private readonly redis: LoginThrottleRedis,
    private readonly policy: LoginBackoffPolicy,
    /** Prepended to every key (e.g. "relay:"). */
    private readonly prefix = '',
  ) {}

  async attempt(account: string): Promise<number> {
    const args = [this.policy.freeAttempts, this.policy.baseMs, this.policy.maxMs, this.policy.forgetMs];
    const keys = this.keys(account);
    let result: unknown;
    try {
      result = await this.redis.evalsha(attemptScript.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      result = await this.redis.eval(attemptScript.source, keys.length, ...keys, ...args);
    }
    return Number(result);
  }

  async succeeded(account: string): Promise<void> {
    await this.redis.del(...this.keys(account));
  }

  /** Both keys in one hash slot (the braces), as a script's keys must be on a Redis Cluster. */
  private keys(account: string): [string, string] {
    const base = `${this.prefix}login:{${account}}`;
    return [`${base}:n`, `${base}:closed`];
  }
}

const attemptScript = loadScript('login-attempt-2.lua');

/** Reads a .lua file of this folder; falls back to the source tree when the build did not copy it. */
function loadScript(name: string): { source: string; sha: string } {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', '..', 'src', 'ratelimit', name)];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`ratelimit: ${name} not found (looked in ${candidates.join(', ')})`);
  const source = fs.readFileSync(file, 'utf8');
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

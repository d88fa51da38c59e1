import type { Config } from '../config';
import type { Jobs, JobsOptions } from './index';
import { MemoryJobs } from './memory';
import { RedisJobs } from './redis';

export interface JobsEngineOptions extends JobsOptions {
  /** Names the Redis connections in CLIENT LIST, e.g. the shard id. */
  connectionName?: string;
  /** Connection errors of the Redis engine. */
  onError?: (err: Error) => void;
}

/**
 * The jobs engine the configuration asks for. It follows BUS rather than having its own
 * key: BUS=memory is one process, where in-process jobs suffice, and BUS=redis is a cluster
 * of shards, where a job must survive the shard that runs it.
 */
export function openJobs(config: Pick<Config, 'bus' | 'redis' | 'jobs'>, opts: JobsEngineOptions = {}): Jobs {
  if (config.bus !== 'redis') return new MemoryJobs(opts);
  return new RedisJobs({ ...opts, url: config.redis.url, prefix: config.redis.prefix, stalledMs: config.jobs.stalledMs });
}

/**
 * What every scenario gets from the orchestrator: parameters, the seeded ids, the shared
 * load generators, and how to start either server. Also the small helpers that turn seeded
 * users into client specs spread over load generators and source addresses.
 */
import path from 'node:path';
import type { ClientSpec } from './ipc';
import type { Params } from './params';
import type { LoadgenPool } from './pool';
import type { BenchResults } from './results';
import type { Seeded } from './seed';
import { startBaseline, startOurs, type Target, type TargetKind } from './target';

export interface Ctx {
  params: Params;
  seeded: Seeded;
  secret: string;
  dataDir: string;
  workDir: string;
  pool: LoadgenPool;
  /** Set by --profile: ours is started with --cpu-prof and profiles land here. */
  profileDir: string | null;
  /** main.js of the server under test (--server, to compare another build); null: this build. */
  serverMain: string | null;
  results: BenchResults;
}

/** "Up to date" for CONNECT sync: the server replays nothing, the relay reads the keys. */
export const upToDate = Number.MAX_SAFE_INTEGER;

/**
 * Starts the server of `kind`; `tag` names its log file and CPU profile. `dataDir` (S11's
 * shards) replaces the run's seeded one; `pingMs` turns on the relay's heartbeat.
 */
export function startTarget(
  ctx: Ctx,
  kind: TargetKind,
  tag: string,
  opts: { inspect?: boolean; env?: Record<string, string>; sqliteSync?: 'full' | 'normal'; dataDir?: string; pingMs?: number } = {},
): Promise<Target> {
  if (kind === 'baseline') return startBaseline(opts.pingMs ?? 0);
  return startOurs({
    dataDir: opts.dataDir ?? ctx.dataDir,
    secret: ctx.secret,
    sqliteSync: opts.sqliteSync ?? ctx.params.sqliteSync,
    inspect: opts.inspect ?? false,
    cpuProfile: ctx.profileDir ? { dir: ctx.profileDir, name: `${tag}.cpuprofile` } : null,
    logFile: path.join(ctx.workDir, `server-${tag}.log`),
    main: ctx.serverMain,
    ...(opts.env ? { env: opts.env } : {}),
  });
}

/** Source address for the i-th connection of a phase. */
export function sourceAddress(ctx: Ctx, i: number): string {
  return `127.0.0.${1 + (i % ctx.params.sourceAddresses)}`;
}

/** A live client of seeded user `i` (S1-S4): its pair conversation, and the group if a member. */
export function liveSpec(ctx: Ctx, i: number): ClientSpec {
  const { seeded } = ctx;
  const convs: Record<string, number> = { [seeded.pairConvs[Math.floor(i / 2)]]: upToDate };
  if (i < seeded.groupMembers.length) convs[seeded.group] = upToDate;
  return { user: seeded.users[i], convs, localAddress: sourceAddress(ctx, i) };
}

/** Deals items round-robin into `n` lists, remembering where each item went. */
export function deal<T>(items: readonly T[], n: number): { lists: T[][]; where: { gen: number; index: number }[] } {
  const lists: T[][] = Array.from({ length: n }, () => []);
  const where = items.map((item, i) => {
    const gen = i % n;
    lists[gen].push(item);
    return { gen, index: lists[gen].length - 1 };
  });
  return { lists, where };
}

export function label(kind: TargetKind): string {
  return kind === 'ours' ? 'ours' : 'baseline';
}

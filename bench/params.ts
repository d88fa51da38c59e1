/**
 * Sizes and durations of every scenario, full and quick. The full run uses the counts the
 * issue names (15,000 connections, 5,000 reconnects, a 250-member group); --quick shrinks
 * counts and phases to stay under two minutes, so its numbers are indicative only.
 */
export interface Params {
  quick: boolean;
  /** SQLITE_SYNC for the server under test (S6 measures both modes). */
  sqliteSync: 'full' | 'normal';
  /** Load generator processes forked for the run (S1 needs ≤ 4,000 sockets each). */
  loadgens: number;
  /** 127.0.0.x source addresses, x = 1..n, shared round-robin by all connections. */
  sourceAddresses: number;
  bodyChars: number;
  s1: { connections: number; warm: number; concurrency: number; settleMs: number };
  /** Closed loop: `window` per sender with both members sending (S2); `moderateWindow` with one sender per pair (S2m). */
  s2: { pairs: number; window: number; moderateWindow: number; warmupMs: number; measureMs: number; loadgens: number };
  /** `coldWarmupMs`: the warm-up of a fresh server's first rate (JIT compiling its hot paths). */
  s3: { pairs: number; rates: number[]; warmupMs: number; coldWarmupMs: number; measureMs: number; drainMs: number; loadgens: number };
  s4: { members: number; senders: number; window: number; warmupMs: number; measureMs: number; sampleEvery: number; loadgens: number };
  s5: { clients: number; missed: number; concurrency: number; loadgens: number };
  s6: { events: number; eventsFull: number; eventsTmpfs: number; batch: number; convs: number };
  /** Cross-shard: `shards` shards (2 or 3) against one, on Cassandra and Redis, open loop at `rate`. */
  s7: { pairs: number; shards: number; rate: number; warmupMs: number; measureMs: number; drainMs: number };
  /**
   * Long-poll against WebSocket on our server: `pairs` direct pairs, open loop at `rate`
   * over each transport; then `idle` idle sessions of each (after `idleWarm` warm ones).
   * The warm-up is long because a fresh server JIT-compiles its hot paths in the first
   * thousands of messages (compiler threads count in utime+stime). `settleMs` exceeds
   * Node's 5 s HTTP keep-alive timeout, so an idle long-poll session is measured in its
   * steady state (the poll's socket only; the server has closed the send socket).
   */
  s8: { pairs: number; rate: number; warmupMs: number; measureMs: number; drainMs: number; loadgens: number; idle: number; idleWarm: number; settleMs: number };
  /**
   * Images: `uploaders` senders each upload a 12 MP photo to their own recipient at once,
   * in rounds (the next when all are on screen), at least `rounds` and until the loaded
   * messaging window ends. Messaging: S3's `pairs` direct pairs, open loop at `rate`, one window
   * without and one with the image load, same server and clients. `imageWarmMs`: images
   * run this long before the loaded phase starts (the pool is full by then). The floor:
   * `floorReps` images in-process on one core, over `photos` distinct photos.
   */
  s9: {
    pairs: number;
    uploaders: number;
    rounds: number;
    rate: number;
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    imageWarmMs: number;
    timeoutMs: number;
    photos: number;
    floorReps: number;
    loadgens: number;
  };
  /**
   * Push to offline devices: (a) `direct` direct conversations, one message each at
   * `sendRate`/s, to recipients with a registered Web Push device and no session; (c)
   * `readers` recipients pushed likewise, then reading on an online second device at
   * `readRate`/s; (b) `groups` groups of `members` offline recipients and the sender, one
   * message each, while S3's `pairs` send open loop at `rate` (a window without, one with).
   * The push service decrypts every request in (a) and (c), one in `sampleEvery` in (b).
   * A push not seen `timeoutMs` after its message is charged at that time. The floor:
   * `floorAlone` pushes one at a time, then `floorPushes` with `floorConcurrency` in flight.
   */
  s10: {
    direct: number;
    readers: number;
    groups: number;
    members: number;
    sendRate: number;
    readRate: number;
    pairs: number;
    rate: number;
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    timeoutMs: number;
    sampleEvery: number;
    floorAlone: number;
    floorPushes: number;
    floorConcurrency: number;
    loadgens: number;
  };
  /**
   * Density at scale: `connections` idle authenticated WebSocket connections over `shards`
   * independent single-shard servers (embedded engines, a DATA_DIR each), one load
   * generator per shard, each side ≤ ~18,000 sockets (the per-process limit is 20,000 open
   * files). Memory as S1 (after `warmPerShard` per shard, then all, `settleMs` later, both
   * after a full GC); then the server CPU over an idle window of `idleMs` at the default
   * heartbeat (`heartbeatMs`, the server's HEARTBEAT_MS default, also the relay's ping
   * interval): a multiple of it, so every shard sweeps the same number of times give or take one.
   */
  s11: { connections: number; shards: number; warmPerShard: number; concurrency: number; settleMs: number; idleMs: number; heartbeatMs: number };
  /**
   * MQTT against WebSocket on our server. (a) `idle` idle sessions of each transport
   * after `idleWarm` warm ones, measured `settleMs` after each batch opened. (b) S3's `pairs`
   * open loop at `rate` over each transport (MQTT at QoS 1). (c) the wire probe:
   * `wireMessages` messages of `wireBodyChars` characters one at a time per transport; then
   * `keepaliveExchanges` keep-alive exchanges per transport on a server pinging every
   * `probeHeartbeatMs` (MQTT clients at a keep-alive of `probeKeepaliveS`, long-poll
   * waiting `probeLpWaitMs`: as many digits as 25000, so the request is as long), turned
   * into bytes per idle hour at each of `keepalivesS`, the default HEARTBEAT_MS
   * (`heartbeatMs`) and long-poll's `lpPollMs`.
   */
  s12: {
    pairs: number;
    rate: number;
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    loadgens: number;
    idle: number;
    idleWarm: number;
    settleMs: number;
    wireMessages: number;
    wireBodyChars: number;
    keepaliveExchanges: number;
    lpExchanges: number;
    probeHeartbeatMs: number;
    probeKeepaliveS: number;
    probeLpWaitMs: number;
    keepalivesS: number[];
    heartbeatMs: number;
    lpPollMs: number;
  };
}

const full: Params = {
  quick: false,
  sqliteSync: 'normal',
  loadgens: 5,
  sourceAddresses: 16,
  bodyChars: 64,
  s1: { connections: 15_000, warm: 500, concurrency: 100, settleMs: 3000 },
  s2: { pairs: 100, window: 4, moderateWindow: 2, warmupMs: 3000, measureMs: 10_000, loadgens: 2 },
  // 20 s windows: issue 15 sets the tail targets over windows of 20 s or more.
  s3: { pairs: 100, rates: [1000, 5000], warmupMs: 2000, coldWarmupMs: 5000, measureMs: 20_000, drainMs: 2000, loadgens: 2 },
  s4: { members: 250, senders: 10, window: 8, warmupMs: 2000, measureMs: 10_000, sampleEvery: 16, loadgens: 2 },
  s5: { clients: 5000, missed: 20, concurrency: 250, loadgens: 2 },
  s6: { events: 300_000, eventsFull: 100_000, eventsTmpfs: 300_000, batch: 256, convs: 1000 },
  s7: { pairs: 100, shards: 3, rate: 100, warmupMs: 3000, measureMs: 15_000, drainMs: 2000 },
  s8: { pairs: 100, rate: 1000, warmupMs: 5000, measureMs: 10_000, drainMs: 2000, loadgens: 2, idle: 1000, idleWarm: 200, settleMs: 6000 },
  s9: { pairs: 100, uploaders: 20, rounds: 8, rate: 1000, warmupMs: 3000, measureMs: 15_000, drainMs: 2000, imageWarmMs: 2000, timeoutMs: 60_000, photos: 4, floorReps: 8, loadgens: 2 },
  s10: {
    direct: 200,
    readers: 100,
    groups: 40,
    members: 250,
    sendRate: 50,
    readRate: 20,
    pairs: 100,
    rate: 1000,
    warmupMs: 2000,
    measureMs: 10_000,
    drainMs: 2000,
    timeoutMs: 10_000,
    sampleEvery: 10,
    floorAlone: 200,
    floorPushes: 2000,
    floorConcurrency: 16,
    loadgens: 2,
  },
  s11: { connections: 100_000, shards: 6, warmPerShard: 500, concurrency: 100, settleMs: 5000, idleMs: 75_000, heartbeatMs: 25_000 },
  s12: {
    pairs: 100,
    rate: 1000,
    warmupMs: 5000,
    measureMs: 10_000,
    drainMs: 2000,
    loadgens: 2,
    idle: 10_000,
    idleWarm: 500,
    settleMs: 3000,
    wireMessages: 50,
    wireBodyChars: 40,
    keepaliveExchanges: 5,
    lpExchanges: 3,
    probeHeartbeatMs: 1000,
    probeKeepaliveS: 2,
    probeLpWaitMs: 10_000,
    keepalivesS: [60, 300],
    heartbeatMs: 25_000,
    lpPollMs: 25_000,
  },
};

const quick: Params = {
  ...full,
  quick: true,
  loadgens: 3,
  s1: { connections: 2000, warm: 200, concurrency: 100, settleMs: 500 },
  s2: { ...full.s2, warmupMs: 1000, measureMs: 3000 },
  s3: { ...full.s3, warmupMs: 1000, coldWarmupMs: 3000, measureMs: 2000, drainMs: 1000 },
  s4: { ...full.s4, warmupMs: 1000, measureMs: 3000 },
  s5: { ...full.s5, clients: 1500 },
  s6: { ...full.s6, events: 50_000, eventsFull: 20_000, eventsTmpfs: 50_000 },
  s7: { ...full.s7, warmupMs: 2000, measureMs: 6000 },
  s8: { ...full.s8, rate: 500, warmupMs: 2000, measureMs: 3000, drainMs: 1000 },
  s9: { ...full.s9, rounds: 3, rate: 500, warmupMs: 2000, measureMs: 5000, drainMs: 1000, floorReps: 4 },
  s11: { ...full.s11, connections: 20_000, shards: 2, settleMs: 3000, idleMs: 25_000 },
  s10: { ...full.s10, direct: 100, readers: 50, groups: 10, rate: 500, warmupMs: 1000, measureMs: 3000, drainMs: 1000, floorAlone: 100, floorPushes: 500 },
  s12: { ...full.s12, rate: 500, warmupMs: 2000, measureMs: 3000, drainMs: 1000, idle: 2000, idleWarm: 200, settleMs: 1000, wireMessages: 20, keepaliveExchanges: 3, lpExchanges: 1 },
};

export function paramsFor(isQuick: boolean): Params {
  return isQuick ? quick : full;
}

/**
 * Both shard transports (CLUSTER_TRANSPORT=links | redis) against one contract: a shard
 * sends commands and handovers to a peer and gets the peer's answers, errors mapped the
 * same way (not_owner, protocol codes, internal without details, timeouts and absent peers
 * as LinkDownError). Then, per transport, two spawned shards on Cassandra and Redis route
 * a real SEND from a shard that does not own the conversation.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateVAPIDKeys } from 'web-push';
import { LinkDownError, LinkPool, LinkServer, NotOwnerError, RedisTransport, linkPath, type ShardHandler, type ShardInfo, type ShardTransport } from '../../src/cluster';
import { requestChannel } from '../../src/cluster/redis-transport';
import { Ring } from '../../src/cluster/ring';
import type { Command } from '../../src/conversations';
import { ProtocolError } from '../../src/protocol';
import { TestSocket, createConversation, http, registerUser, sleep, spawnServer, type ChildServer, type Frame } from '../e2e/harness';
import { dropKeyspace } from './cassandra-env';
import { connectRedis, deleteKeys, randomPrefix, redisUrl } from './redis-env';

jest.setTimeout(120_000);

/** The peer's side: echoes commands, fails on request by conversation id, records handovers. */
class FakePeer implements ShardHandler {
  readonly seen: string[] = [];
  readonly released: string[] = [];
  async command(cmd: Command): Promise<unknown> {
    this.seen.push(cmd.conv_id);
    switch (cmd.conv_id) {
      case 'c_not_mine':
        throw new NotOwnerError('not mine');
      case 'c_forbidden':
        throw new ProtocolError('forbidden', 'not a member');
      case 'c_boom':
        throw new Error('a detail the caller must not see');
      case 'c_hang':
        return new Promise(() => undefined);
      default:
        return { echo: cmd.conv_id, seen: this.seen.length };
    }
  }
  async release(convId: string): Promise<void> {
    if (convId === 'c_not_mine') throw new NotOwnerError('still mine');
    this.released.push(convId);
  }
}

interface Pair {
  /** The calling shard's transport. */
  caller: ShardTransport;
  peer: ShardInfo;
  handler: FakePeer;
  /** A peer id that nobody serves. */
  absent: ShardInfo;
  close(): Promise<void>;
}

const timeoutMs = 400;
const cmd = (conv_id: string): Command => ({ op: 'send', conv_id }) as unknown as Command;

const engines: Record<'links' | 'redis', () => Promise<Pair>> = {
  async links() {
    const secret = randomBytes(32).toString('base64url');
    const handler = new FakePeer();
    const server = new LinkServer(secret, handler);
    const httpServer: Server = createServer();
    httpServer.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith(linkPath)) server.upgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    const caller = new LinkPool('a', secret, timeoutMs);
    // A port nothing listens on: bind one, then close it.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    return {
      caller,
      peer: { id: 'b', url, since: 0 },
      handler,
      absent: { id: 'x', url: `http://127.0.0.1:${deadPort}`, since: 0 },
      async close() {
        await caller.close();
        server.close();
        await new Promise<void>((r) => httpServer.close(() => r()));
      },
    };
  },
  async redis() {
    const prefix = randomPrefix();
    const handler = new FakePeer();
    const caller = await RedisTransport.connect({ url: redisUrl, prefix, selfId: 'a', requestTimeoutMs: timeoutMs });
    const peer = await RedisTransport.connect({ url: redisUrl, prefix, selfId: 'b', requestTimeoutMs: timeoutMs });
    await peer.serve(handler);
    return {
      caller,
      peer: { id: 'b', url: 'http://unused', since: 0 },
      handler,
      absent: { id: 'x', url: 'http://unused', since: 0 },
      async close() {
        await Promise.all([caller.close(), peer.close()]);
      },
    };
  },
};

describe.each(Object.keys(engines) as (keyof typeof engines)[])('%s transport contract', (kind) => {
  let p: Pair;
  beforeEach(async () => {
    p = await engines[kind]();
  });
  afterEach(async () => {
    await p.close();
  });

  test('commands reach the peer in order and the answers come back to their callers', async () => {
    const convs = Array.from({ length: 50 }, (_, i) => `c_${i}`);
    const answers = await Promise.all(convs.map((c) => p.caller.command(p.peer, cmd(c))));
    expect(p.handler.seen).toEqual(convs);
    expect(answers).toEqual(convs.map((c, i) => ({ echo: c, seen: i + 1 })));
  });

  test('errors keep their meaning: not_owner, protocol codes, internal without details', async () => {
    await expect(p.caller.command(p.peer, cmd('c_not_mine'))).rejects.toBeInstanceOf(NotOwnerError);
    await expect(p.caller.command(p.peer, cmd('c_forbidden'))).rejects.toMatchObject({ name: 'ProtocolError', code: 'forbidden', message: 'not a member' });
    const boom = p.caller.command(p.peer, cmd('c_boom'));
    await expect(boom).rejects.toBeInstanceOf(ProtocolError);
    await expect(boom).rejects.toMatchObject({ code: 'internal', message: 'internal error' });
    // The channel still works after failures.
    await expect(p.caller.command(p.peer, cmd('c_ok'))).resolves.toMatchObject({ echo: 'c_ok' });
  });

  test('a peer that does not answer in time, or is not there, fails with LinkDownError', async () => {
    const t0 = Date.now();
    await expect(p.caller.command(p.peer, cmd('c_hang'))).rejects.toBeInstanceOf(LinkDownError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(timeoutMs - 20);
    await expect(p.caller.command(p.absent, cmd('c_1'))).rejects.toBeInstanceOf(LinkDownError);
    await expect(p.caller.release(p.absent, 'c_1')).rejects.toBeInstanceOf(LinkDownError);
  });

  test('release hands the conversation over, or says the peer still owns it', async () => {
    await expect(p.caller.release(p.peer, 'c_moved')).resolves.toBeUndefined();
    expect(p.handler.released).toEqual(['c_moved']);
    await expect(p.caller.release(p.peer, 'c_not_mine')).rejects.toBeInstanceOf(NotOwnerError);
  });

  test('closing the transport fails what is pending with LinkDownError', async () => {
    const outcome = p.caller.command(p.peer, cmd('c_hang')).catch((err: unknown) => err);
    await sleep(50);
    await p.caller.close();
    expect(await outcome).toBeInstanceOf(LinkDownError);
  });
});

describe('two spawned shards route a SEND from a shard that does not own the conversation', () => {
  const run = randomBytes(4).toString('hex');
  const keyspace = `it_transport_${run}`;
  const secret = randomBytes(32).toString('base64url');
  const vapid = generateVAPIDKeys();
  const shardIds = ['t1', 't2'];
  const ring = new Ring(shardIds);
  let created = false;

  afterAll(async () => {
    if (created) await dropKeyspace(keyspace);
  }, 60_000);

  test.each(['links', 'redis'])('CLUSTER_TRANSPORT=%s', async (transport) => {
    const prefix = `it${run}${transport}:`;
    const env = (id: string): Record<string, string> => ({
      STORE: 'cassandra',
      BUS: 'redis',
      CLUSTER_TRANSPORT: transport,
      JWT_SECRET: secret,
      PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      SHARD_ID: id,
      CASSANDRA_KEYSPACE: keyspace,
      CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      CLUSTER_HEARTBEAT_MS: '200',
      CLUSTER_SHARD_TTL_MS: '1000',
      LINK_PREVIEWS: 'off',
    });
    const shards = new Map<string, ChildServer>();
    const redis = connectRedis();
    try {
      created = true;
      for (const id of shardIds) shards.set(id, await spawnServer(env(id)));
      const shard = (id: string): ChildServer => shards.get(id) as ChildServer;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const views = await Promise.all(shardIds.map((id) => http(shard(id).url, 'GET', '/healthz')));
        if (views.every((v) => v.body.ring?.version === ring.version)) break;
        if (Date.now() > deadline) throw new Error(`ring did not settle: ${JSON.stringify(views.map((v) => v.body))}`);
        await sleep(100);
      }
      // Only the Redis transport listens on the request channels.
      const [, subscribers] = (await redis.pubsub('NUMSUB', requestChannel(prefix, 't1'))) as [string, number];
      expect(Number(subscribers)).toBe(transport === 'redis' ? 1 : 0);

      const alice = await registerUser(shard('t1').url);
      const bob = await registerUser(shard('t2').url);
      const conv = await createConversation(shard('t1').url, alice, 'direct', [bob]);
      const owner = ring.owner(conv);
      const other = shardIds.find((s) => s !== owner) as string;
      const a = await TestSocket.connect(shard(other).wsUrl, alice.token, 'a');
      const b = await TestSocket.connect(shard(owner).wsUrl, bob.token, 'b');
      const isMsg = (f: Frame): boolean => f.type === 'DELIVER' && f.kind === 'message';
      const ack = await a.sock.sendMessage(conv, `via ${transport}`, `x-${run}-${transport}`);
      expect(ack).toMatchObject({ type: 'ACK', conv_id: conv, seq: 2 });
      expect(await b.sock.next(isMsg)).toMatchObject({ seq: 2, body: `via ${transport}`, sender_id: alice.user_id });
      // A command that fails on the owner comes back as the same ERROR code.
      let missing = 'c_missing_0';
      for (let i = 1; ring.owner(missing) !== owner; i++) missing = `c_missing_${i}`;
      a.sock.send({ type: 'SEND', conv_id: missing, client_msg_id: `y-${run}-${transport}`, body: 'x' });
      expect(await a.sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: expect.stringMatching(/not_found|forbidden/) });
      a.sock.close();
      b.sock.close();
    } finally {
      await Promise.all([...shards.values()].map((s) => (s.proc.kill('SIGTERM'), s.exited)));
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  });
});

/** RedisBus against a real Redis: the Bus contract, then what only a networked engine has. */
import { RedisBus, type Bus } from '../../src/bus';
import { frame, runBusContract, waitFor } from '../bus/contract';
import { connectRedis, randomPrefix, redisUrl } from './redis-env';

// Every open() is a separate shard: its own two connections, one channel prefix per test.
runBusContract('redis', async () => {
  const prefix = randomPrefix();
  return { open: () => RedisBus.connect({ url: redisUrl, prefix }), cleanup: async () => {} };
});

describe('RedisBus on the wire', () => {
  const admin = connectRedis();
  const buses: Bus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await admin.quit();
  });
  /** A bus whose connections are named `<prefix><name>:pub|sub`, so a test can find and kill its own. */
  async function open(prefix: string, name: string, errors: Error[] = []): Promise<RedisBus> {
    const bus = await RedisBus.connect({ url: redisUrl, prefix, connectionName: prefix + name, onError: (e) => errors.push(e) });
    buses.push(bus);
    return bus;
  }
  async function numsub(channel: string): Promise<number> {
    return ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
  }
  /** Closes the connection named `name` from the server side, as a network failure would. */
  async function kill(name: string): Promise<void> {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1]);
    expect(ids).toHaveLength(1);
    await admin.client('KILL', 'ID', ids[0] as string);
  }

  it('uses one Redis SUBSCRIBE per topic however many local handlers, and drops it with the last', async () => {
    const prefix = randomPrefix();
    const bus = await open(prefix, 'a');
    const offs = await Promise.all([1, 2, 3].map(() => bus.subscribe('t', () => {})));
    expect(await numsub(`${prefix}t`)).toBe(1);
    offs[0]();
    offs[1]();
    expect(await numsub(`${prefix}t`)).toBe(1);
    offs[2]();
    const deadline = Date.now() + 2000;
    while ((await numsub(`${prefix}t`)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await numsub(`${prefix}t`)).toBe(0);
  });

  it('publishes JSON on the prefixed channel, so any Redis client can listen', async () => {
    const prefix = randomPrefix();
    const bus = await open(prefix, 'a');
    const listener = connectRedis();
    const got: [string, string][] = [];
    listener.on('message', (c: string, m: string) => got.push([c, m]));
    await listener.subscribe(`${prefix}gw:g1`);
    bus.publish('gw:g1', frame('x'));
    await waitFor('raw message', () => got.length === 1);
    expect(got[0][0]).toBe(`${prefix}gw:g1`);
    expect(JSON.parse(got[0][1])).toEqual(frame('x'));
    listener.disconnect();
  });

  it('resubscribes by itself after its subscriber connection drops', async () => {
    const prefix = randomPrefix();
    const [one, two] = [await open(prefix, 'one'), await open(prefix, 'two')];
    const got: string[] = [];
    await one.subscribe('t', (m) => got.push(m.t === 'frames' ? m.frame : ''));
    two.publish('t', frame('before'));
    await waitFor('before', () => got.length === 1);
    await kill(`${prefix}one:sub`);
    // Keep publishing until the resubscribed connection hears one again.
    let n = 0;
    await waitFor(
      'delivery after reconnect',
      () => {
        two.publish('t', frame(`after${n++}`));
        return got.length > 1;
      },
      10_000,
    );
    expect(got[0]).toBe('before');
    expect(await numsub(`${prefix}t`)).toBe(1);
  });

  it('drops publishes while its publisher is disconnected, reports that once per outage, and recovers', async () => {
    const prefix = randomPrefix();
    const errors: Error[] = [];
    const [bus, listener] = [await open(prefix, 'a', errors), await open(prefix, 'listener')];
    const got: string[] = [];
    await listener.subscribe('t', (m) => got.push(m.t === 'frames' ? m.frame : ''));
    for (let outage = 1; outage <= 2; outage++) {
      await kill(`${prefix}a:pub`);
      await waitFor('a dropped publish', () => {
        bus.publish('t', frame('during'));
        return errors.length === outage;
      });
      let n = 0;
      await waitFor('delivery after reconnect', () => {
        bus.publish('t', frame(`after${n++}`));
        return got.some((g) => g.startsWith('after'));
      });
      expect(errors.filter((e) => e.message.includes('dropped'))).toHaveLength(outage);
      got.length = 0;
    }
  });
});

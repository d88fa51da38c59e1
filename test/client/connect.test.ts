import { clientFor, connack, FakeServer, msg, seqs, waitFor } from './fake-server';
import type { ChatClient } from '../../src/client';

let server: FakeServer;
let client: ChatClient | undefined;

beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await server.stop();
});

test('CONNECT is the first frame and carries the saved sync state; sends wait for CONNACK', async () => {
  const made = clientFor(server, { state: { convs: { c1: 5, c2: 0 }, inbox_cursor: 'cur_0' } });
  client = made.client;
  const sent = client.send('c1', 'queued before connect');
  client.connect();
  const conn = await server.nextConn();
  const first = await conn.next();
  expect(first).toEqual({
    type: 'CONNECT',
    token: 'tok_1',
    device_id: 'd_1',
    sync: { convs: { c1: 5, c2: 0 }, inbox_cursor: 'cur_0' },
  });
  // Nothing else may go out before CONNACK.
  await new Promise((r) => setTimeout(r, 50));
  expect(conn.frames).toHaveLength(1);
  conn.send(connack());
  const send = await conn.next();
  expect(send).toMatchObject({ type: 'SEND', conv_id: 'c1', body: 'queued before connect' });
  if (send.type !== 'SEND') throw new Error('unreachable');
  expect(send.client_msg_id).toMatch(/^m_/);
  conn.send({ type: 'ACK', client_msg_id: send.client_msg_id, conv_id: 'c1', seq: 6, ts: 1 });
  await expect(sent).resolves.toEqual({ client_msg_id: send.client_msg_id, conv_id: 'c1', seq: 6, ts: 1 });
  expect(client.status).toBe('ready');
  expect(client.userId).toBe('u_me');
});

test('CONNACK missed events apply in order, duplicates are dropped, state advances', async () => {
  const made = clientFor(server, { state: { convs: { c1: 5, c2: 0 } } });
  client = made.client;
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.send(connack({ missed: [msg('c1', 6), msg('c1', 7), msg('c2', 1)], inbox_cursor: 'cur_9' }));
  conn.send({ type: 'DELIVER', ...msg('c1', 7) }); // duplicate of a missed event
  conn.send({ type: 'DELIVER', ...msg('c1', 5) }); // below what the device already had
  conn.send({ type: 'DELIVER', ...msg('c1', 9) }); // gap: allowed
  conn.send({ type: 'DELIVER', ...msg('c3', 4) }); // a conversation new to the device
  await waitFor(() => seqs(made.log).includes('c3:4'));
  expect(seqs(made.log)).toEqual(['c1:6', 'c1:7', 'c2:1', 'c1:9', 'c3:4']);
  expect(client.state).toEqual({ convs: { c1: 9, c2: 1, c3: 4 }, inbox_cursor: 'cur_9' });
  const names = made.log.map((e) => e.name);
  expect(names.indexOf('connected')).toBeLessThan(names.indexOf('event'));
  expect(names).toContain('synced');
  // The state is a copy: changing it does not change the client.
  const copy = client.state;
  copy.convs!.c1 = 0;
  expect(client.state.convs!.c1).toBe(9);
});

test('CONNACK more=true pages /events for the synced conversations, holding live events until caught up', async () => {
  const made = clientFor(server, { state: { convs: { c1: 0, c2: 10 } }, syncPageLimit: 2 });
  client = made.client;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let sawFirstPage!: () => void;
  const firstPage = new Promise<void>((resolve) => (sawFirstPage = resolve));
  server.route('GET', '/api/v1/conversations/c1/events', async (req) => {
    const after = Number(req.query.get('after'));
    if (after === 2) {
      sawFirstPage();
      await gate;
      return { status: 200, body: { events: [msg('c1', 3), msg('c1', 4)], more: true } };
    }
    if (after === 4) return { status: 200, body: { events: [msg('c1', 5)], more: false } };
    return { status: 500, body: { error: { code: 'internal', message: `unexpected after=${after}` } } };
  });
  server.route('GET', '/api/v1/conversations/c2/events', () => ({ status: 200, body: { events: [], more: false } }));

  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.send(connack({ missed: [msg('c1', 1), msg('c1', 2)], more: true }));
  await firstPage;
  // Live events while c1 is still being paged: 6 is new, 5 will also come from paging.
  conn.send({ type: 'DELIVER', ...msg('c1', 6) });
  conn.send({ type: 'DELIVER', ...msg('c1', 5) });
  conn.send({ type: 'DELIVER', ...msg('c9', 1) }); // not being paged: applies at once
  await client.ping(); // the server answered after those DELIVERs, so they were read
  expect(seqs(made.log)).toEqual(['c1:1', 'c1:2', 'c9:1']);
  expect(made.log.some((e) => e.name === 'synced')).toBe(false);

  openGate();
  await waitFor(() => made.log.some((e) => e.name === 'synced'));
  expect(seqs(made.log)).toEqual(['c1:1', 'c1:2', 'c9:1', 'c1:3', 'c1:4', 'c1:5', 'c1:6']);
  expect(client.state.convs).toEqual({ c1: 6, c2: 10, c9: 1 });
  const pages = server.requests.filter((r) => r.path.endsWith('/events'));
  expect(pages.map((r) => `${r.path} after=${r.query.get('after')} limit=${r.query.get('limit')}`).sort()).toEqual([
    '/api/v1/conversations/c1/events after=2 limit=2',
    '/api/v1/conversations/c1/events after=4 limit=2',
    '/api/v1/conversations/c2/events after=10 limit=2',
  ]);
  expect(pages.every((r) => r.headers.authorization === 'Bearer tok_1')).toBe(true);
});

test('a failed catch-up reports the error and reconnects from where it got to', async () => {
  const made = clientFor(server, { state: { convs: { c1: 0 } } });
  client = made.client;
  let calls = 0;
  server.route('GET', '/api/v1/conversations/c1/events', () => {
    calls++;
    if (calls === 1) return { status: 503, body: { error: { code: 'unavailable', message: 'busy' } } };
    return { status: 200, body: { events: [msg('c1', 3)], more: false } };
  });
  client.connect();
  const conn1 = await server.nextConn();
  await conn1.next();
  conn1.send(connack({ missed: [msg('c1', 1), msg('c1', 2)], more: true }));
  const conn2 = await server.nextConn();
  const connect = await conn2.next();
  expect(connect).toMatchObject({ type: 'CONNECT', sync: { convs: { c1: 2 } } });
  conn2.send(connack({ more: true }));
  await waitFor(() => made.log.some((e) => e.name === 'synced'));
  expect(seqs(made.log)).toEqual(['c1:1', 'c1:2', 'c1:3']);
  const errors = made.log.filter((e) => e.name === 'error').map((e) => (e.args[0] as { code: string }).code);
  expect(errors).toEqual(['unavailable']);
});

/**
 * PresenceWatch (src/gateway/presence-watch.ts) on the in-process engines and a real
 * SQLite store: announcements and settings changes come from different publishers, so
 * they may arrive in either order; what subscribers end up seeing must be the truth, and
 * a hidden user must never be shown online.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus, presenceTopic, type PresenceMessage } from '../../src/bus';
import { MemoryPresence } from '../../src/presence';
import { SqliteStore, openSqliteDatabase, defaultUserSettings, type UserSettings } from '../../src/store';
import { PresenceWatch } from '../../src/gateway/presence-watch';
import { Session, type Carrier } from '../../src/gateway/session';
import { WriteBatch } from '../../src/gateway/batch';
import { createObservability } from '../../src/observability';

/** A carrier that keeps what the session writes (the frames a client would read). */
class Recorder implements Carrier {
  bufferedAmount = 0;
  frames: { type: string; [k: string]: unknown }[] = [];
  send(data: string | Buffer): void {
    this.frames.push(JSON.parse(data.toString()));
  }
  close(): void {}
  terminate(): void {}
  ping(): void {}
}

let store: SqliteStore;
let presence: MemoryPresence;
let bus: MemoryBus;
let watch: PresenceWatch;
let watcher: Recorder;
let session: Session;
const shown: UserSettings = { ...defaultUserSettings };
const hidden: UserSettings = { ...defaultUserSettings, show_presence: false };

beforeEach(async () => {
  store = new SqliteStore(openSqliteDatabase(join(mkdtempSync(join(tmpdir(), 'pw-')), 'db.sqlite'), { synchronous: 'normal' }));
  await store.createUser({ user_id: 'u_ann', username: 'ann', display_name: 'Ann', password_hash: 'x', created_at: 1 });
  presence = new MemoryPresence();
  bus = new MemoryBus();
  const { logger } = createObservability({ level: 'error', shardId: 't', silent: true });
  watch = new PresenceWatch({ gatewayId: 'g1', presence, store, bus, logger });
  watcher = new Recorder();
  session = new Session('s_w', watcher, Date.now(), null, 1 << 20, new WriteBatch());
  await watch.subscribe(session, ['u_ann']);
  watcher.frames.length = 0; // the answer to PRESENCE_SUB
});
afterEach(() => store.close());

const announced = (state: 'online' | 'offline', at: number): PresenceMessage => ({
  t: 'presence',
  user_id: 'u_ann',
  state,
  frame: JSON.stringify({ type: 'PRESENCE', user_id: 'u_ann', state, last_seen: at }),
  last_seen: at,
  at,
});
const states = () => watcher.frames.map((f) => `${String(f.state)}:${String(f.last_seen === null ? 'null' : 'time')}`);

test('an announcement older than the state written last is dropped (it lost a race on the bus)', () => {
  const t = Date.now() + 1000; // after the subscription's answer
  watch.delivered(announced('online', t + 100));
  watch.delivered(announced('offline', t + 200));
  watch.delivered(announced('online', t + 150)); // published before the offline one, arrived after
  expect(states()).toEqual(['online:time', 'offline:time']);
});

test('hiding while an online announcement is in flight: the subscriber ends offline, never online again', async () => {
  await presence.addSession('u_ann', 'g2', 's_a');
  const change = watch.settingsChanged('u_ann', hidden);
  watch.delivered(announced('online', Date.now() - 5)); // made before the hide reached its gateway
  await change;
  watch.delivered(announced('online', Date.now() + 5)); // a gateway that has not heard of the hide yet
  expect(states()).toEqual(['offline:null']);
});

test('showing presence and disconnecting at once: the offline announcement made after the read wins', async () => {
  await watch.settingsChanged('u_ann', hidden);
  await presence.addSession('u_ann', 'g2', 's_a');
  // The read answers "online", but its answer is late (a slow Redis round trip).
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const read = presence.get.bind(presence);
  presence.get = async (ids) => {
    const answer = await read(ids);
    await gate;
    return answer;
  };
  const change = watch.settingsChanged('u_ann', shown);
  await presence.removeSession('u_ann', 'g2', 's_a', Date.now());
  watch.delivered(announced('offline', Date.now() + 1)); // the user's gateway: gone offline
  release();
  await change;
  expect(states()).toEqual(['offline:null', 'offline:time']);
});

test('announcements of a user whose presence is shown pass; the gateway publishes its own with a time', async () => {
  const got: PresenceMessage[] = [];
  await bus.subscribe(presenceTopic, (m) => m.t === 'presence' && got.push(m));
  const ann = new Session('s_a', new Recorder(), Date.now(), shown, 1 << 20, new WriteBatch());
  ann.userId = 'u_ann';
  const before = Date.now();
  await watch.sessionStarted(ann);
  expect(got).toEqual([expect.objectContaining({ user_id: 'u_ann', state: 'online', at: expect.any(Number) })]);
  expect(got[0].at).toBeGreaterThanOrEqual(before);
  watch.delivered(got[0]);
  expect(states()).toEqual(['online:time']);
  // A session whose settings hide presence announces nothing.
  const hiddenSession = new Session('s_h', new Recorder(), Date.now(), hidden, 1 << 20, new WriteBatch());
  hiddenSession.userId = 'u_bob';
  await watch.sessionStarted(hiddenSession);
  expect(got).toHaveLength(1);
});

test('an announcement from a gateway that has not heard of hidden last-seen shows no time', async () => {
  await watch.settingsChanged('u_ann', { ...shown, show_last_seen: false });
  watch.delivered(announced('offline', Date.now() + 5)); // built by the announcer with last_seen set
  expect(watcher.frames.map((f) => f.last_seen)).toEqual([null, null]);
});

test('while hidden, offline announcements (with their time) are not written either', async () => {
  await watch.settingsChanged('u_ann', hidden);
  watch.delivered(announced('offline', Date.now() + 5));
  expect(states()).toEqual(['offline:null']);
});

test('the answer to PRESENCE_SUB is not written over a newer announcement that arrived while it was read', async () => {
  const late = new Recorder();
  const other = new Session('s_late', late, Date.now(), null, 1 << 20, new WriteBatch());
  await presence.addSession('u_ann', 'g2', 's_a'); // online when the answer is read
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const getUsers = store.getUsers.bind(store);
  store.getUsers = async (ids) => {
    const users = await getUsers(ids);
    await gate;
    return users;
  };
  const answering = watch.subscribe(other, ['u_ann']);
  await presence.removeSession('u_ann', 'g2', 's_a', Date.now());
  watch.delivered(announced('offline', Date.now() + 1)); // reaches both sessions
  release();
  await answering;
  expect(late.frames.map((f) => f.state)).toEqual(['offline']);
});

test('a session alone on a user after PRESENCE_SUB drops announcements older than its answer', async () => {
  const solo = new Recorder();
  const s2 = new Session('s_solo', solo, Date.now(), null, 1 << 20, new WriteBatch());
  const before = Date.now() - 10;
  await watch.subscribe(s2, ['u_bob_unknown', 'u_ann']); // u_ann also watched by `session`: shared
  await watch.subscribe(session, []); // now s2 is alone on u_ann; resubscribe to refresh
  await watch.subscribe(s2, ['u_ann']);
  solo.frames.length = 0;
  watch.delivered(announced('online', before)); // published before the answer was read
  expect(solo.frames).toEqual([]);
});

/**
 * Issue 14, the fuzzer over every REST route (one entry per route the app registers: a
 * route without one fails here): path parameters, query strings and JSON bodies generated
 * from each route's schema with wrong types, hostile text and boundaries, and raw bodies
 * that are not what they claim (cut short, not JSON, too large, nesting bombs). Every
 * answer must be a success or `{error: {code, message}}` with the code's status, never
 * 500; afterwards the invariants of checks.ts. FUZZ_SEED and FUZZ_RUNS as in frames.test.ts.
 */
import fc from 'fast-check';
import { defaultLimits } from '../../src/protocol';
import { authRequest, createConversation, registerUserPatiently, startTestServer, stopTestServer, TestSocket, type TestServer, type TestUser } from '../e2e/harness';
import { api, fuzzRuns, fuzzSeed, logProblems, memory, metric, normalClientWorks, readLog, restProblem } from './checks';
import { edgeLengthText, edgeNumber, hostileText, perturbed, wrongType } from './inputs';
import { registeredRoutes } from './routes';

jest.setTimeout(600_000);

/** Who calls: the fuzzing user, a user whose account the account routes may sign out, nobody, a forged token. */
type Caller = 'main' | 'victim' | 'none' | 'forged';

/** One fuzzed request. */
interface Request {
  path: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  caller: Caller;
}

interface Pools {
  convs: string[];
  users: string[];
  seqs: fc.Arbitrary<number>;
}

/** Text with every lone surrogate replaced (U+FFFD): percent-encoding cannot carry one. */
const wellFormed = (s: string): string => s.replace(/\p{Cs}/gu, '\ufffd');

/** A path segment: a live id, one naming nothing, hostile text (percent-encoded), or raw percent junk. */
function segment(pool: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...pool).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom('c_doesNotExist0000', 'u_doesNotExist0000', 'a_doesNotExist0000', 'x'.repeat(65), '0', '-1', '1e3', '9007199254740993') },
    { weight: 1, arbitrary: hostileText(70).map((s) => encodeURIComponent(wellFormed(s))) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%ff', '%00', '%2F', '%E0%A4%A', '..', '%2e%2e', '%ud800') },
  );
}

/** A query value: valid-looking, edge numbers, hostile text, or given twice. */
function queryValue(valid: fc.Arbitrary<string>): fc.Arbitrary<string | string[]> {
  return fc.oneof(
    { weight: 8, arbitrary: valid },
    { weight: 1, arbitrary: edgeNumber.map(String) },
    { weight: 1, arbitrary: hostileText(30).map((s) => wellFormed(s)) },
    { weight: 1, arbitrary: fc.tuple(valid, valid).map(([a, b]) => [a, b]) },
  );
}

function query(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const entries = Object.entries(params).map(([k, v]) => fc.option(queryValue(v), { nil: undefined }).map((val): [string, string | string[] | undefined] => [k, val]));
  return fc.tuple(...entries).map((pairs) => {
    const q = new URLSearchParams();
    for (const [k, v] of pairs) for (const one of v === undefined ? [] : Array.isArray(v) ? v : [v]) q.append(k, one);
    const s = q.toString();
    return s === '' ? '' : `?${s}`;
  });
}

/** A JSON body from a route's fields (each perturbed), or a raw body that is not what it claims. */
function body(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Pick<Request, 'body' | 'raw' | 'contentType'>> {
  const record = fc.record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, perturbed(a)])), { requiredKeys: [] });
  const extra = fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra'), hostileText(8).map((s) => wellFormed(s))), wrongType, { maxKeys: 2 });
  const generated = fc.tuple(record, fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extra })).map(([r, x]) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    for (const [k, v] of Object.entries(x)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return { body: out };
  });
  return fc.oneof(
    { weight: 10, arbitrary: generated },
    { weight: 1, arbitrary: fc.constantFrom(null, [], 'text', 1, true).map((b) => ({ body: b })) },
    {
      weight: 2,
      arbitrary: generated.chain(({ body: b }) => {
        const text = JSON.stringify(b);
        return fc.oneof(
          fc.nat({ max: Math.max(0, text.length - 1) }).map((n) => ({ raw: text.slice(0, n) })),
          fc.constant({ raw: text.replace(/^\{/, '{"k\\ud800":1,') }),
          fc.constant({ raw: text, contentType: 'text/plain' }),
          fc.constant({ raw: text, contentType: 'application/json; charset=latin1' }),
          fc.constant({ raw: '['.repeat(20_000) + ']'.repeat(20_000) }),
          fc.constant({ raw: JSON.stringify({ ...(b as object), pad: 'p'.repeat(defaultLimits.maxFrameBytes) }) }),
          fc.constant({ raw: '\u0000\u00ff{' }),
        );
      }),
    },
  );
}

const bool = fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: wrongType });
const text = (max: number) => fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: max }) }, { weight: 1, arbitrary: hostileText(max + 2) }, { weight: 1, arbitrary: edgeLengthText });
const reusedIds = fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('rest-reused-1', 'rest-reused-2', 'link_preview:1') }, { weight: 1, arbitrary: hostileText(70) });

/**
 * Every route: how to fuzz it. Keys are "METHOD path" as registeredRoutes() reads them
 * from the app, checked equal to the app's list below.
 */
function routeTable(p: Pools): Record<string, fc.Arbitrary<Request>> {
  const conv = segment(p.convs);
  const user = segment(p.users);
  const seqSeg = fc.oneof({ weight: 8, arbitrary: p.seqs.map(String) }, { weight: 1, arbitrary: segment(['0']) });
  const num = (max: number) => fc.nat({ max }).map(String);
  const userList = fc.array(fc.constantFrom(...p.users, 'u_doesNotExist0000'), { maxLength: 5 });
  const caller = (main: Caller = 'main'): fc.Arbitrary<Caller> => fc.oneof({ weight: 12, arbitrary: fc.constant(main) }, { weight: 1, arbitrary: fc.constantFrom<Caller>('none', 'forged') });
  const req = (path: fc.Arbitrary<string>, b: fc.Arbitrary<Pick<Request, 'body' | 'raw' | 'contentType'>> | null, who = caller()) =>
    fc.tuple(path, b ?? fc.constant({}), who).map(([pathValue, bodyValue, c]): Request => ({ path: pathValue, ...bodyValue, caller: c }));
  const convPath = (tail: string, q: fc.Arbitrary<string> = fc.constant('')) => fc.tuple(conv, q).map(([c, qs]) => `/api/v1/conversations/${c}${tail}${qs}`);
  const msgPath = (tail: string, q: fc.Arbitrary<string> = fc.constant('')) => fc.tuple(conv, seqSeg, q).map(([c, s, qs]) => `/api/v1/conversations/${c}/messages/${s}${tail}${qs}`);
  const attachment = segment(['a_doesNotExist0000']);
  const device = segment(['fuzz-device', 'd_other']);
  const v1 = (path: string) => fc.constant(`/api/v1${path}`);
  return {
    'GET /healthz': req(fc.constant('/healthz'), null),
    'GET /readyz': req(fc.constant('/readyz'), null),
    'GET /metrics': req(fc.constant('/metrics'), null),
    'POST /api/v1/auth/register': req(v1('/auth/register'), body({ username: text(32), password: text(256), display_name: text(64), device_id: text(64) }), fc.constant('none')),
    'POST /api/v1/auth/login': req(v1('/auth/login'), body({ username: text(64), password: text(256), device_id: text(64) }), fc.constant('none')),
    'GET /api/v1/users': req(fc.oneof(query({ username: text(40).map((s) => wellFormed(s)) }), query({ user_ids: userList.map((u) => u.join(',')) })).map((q) => `/api/v1/users${q}`), null),
    'GET /api/v1/users/search': req(
      query({ q: text(70).map((s) => wellFormed(s)), cursor: text(80).map((s) => wellFormed(s)), limit: num(60) }).map((q) => `/api/v1/users/search${q}`),
      null,
    ),
    'GET /api/v1/me': req(v1('/me'), null),
    'PATCH /api/v1/me': req(v1('/me'), body({ display_name: text(66) })),
    'PATCH /api/v1/me/settings': req(v1('/me/settings'), body({ show_presence: bool, show_last_seen: bool, send_read_receipts: bool, push_previews: bool, discoverable: bool })),
    'GET /api/v1/presence': req(query({ user_ids: userList.map((u) => u.join(',')) }).map((q) => `/api/v1/presence${q}`), null),
    'POST /api/v1/auth/logout': req(v1('/auth/logout'), body({ device_id: text(64) }), caller('victim')),
    'POST /api/v1/auth/logout-all': req(v1('/auth/logout-all'), body({}), caller('victim')),
    'DELETE /api/v1/me/devices/:device_id': req(device.map((d) => `/api/v1/me/devices/${d}`), null, caller('victim')),
    'DELETE /api/v1/me': req(v1('/me'), body({ password: text(256) }), caller('victim')),
    'POST /api/v1/conversations': req(v1('/conversations'), body({ type: fc.constantFrom('direct', 'group', 'channel'), member_ids: userList, title: text(128) })),
    'GET /api/v1/conversations': req(query({ cursor: text(40).map((s) => wellFormed(s)), limit: num(300) }).map((q) => `/api/v1/conversations${q}`), null),
    'GET /api/v1/conversations/:id': req(convPath(''), null),
    'POST /api/v1/conversations/:id/members': req(convPath('/members'), body({ user_ids: userList })),
    'DELETE /api/v1/conversations/:id/members/:userId': req(fc.tuple(conv, user).map(([c, u]) => `/api/v1/conversations/${c}/members/${u}`), null),
    'GET /api/v1/conversations/:id/messages': req(convPath('/messages', query({ before: num(60), limit: num(300) })), null),
    'GET /api/v1/conversations/:id/events': req(convPath('/events', query({ after: num(60), limit: num(1200) })), null),
    'POST /api/v1/conversations/:id/messages': req(convPath('/messages'), body({ client_msg_id: reusedIds, body: text(200), reply_to: p.seqs, attachments: fc.array(text(64), { maxLength: 11 }), mentions: userList })),
    'POST /api/v1/conversations/:id/messages/:seq/reactions': req(msgPath('/reactions'), body({ client_msg_id: reusedIds, emoji: fc.constantFrom('👍', '❤️', null, 'x', '👍👍', '🇫🇷') })),
    'PATCH /api/v1/conversations/:id/messages/:seq': req(msgPath(''), body({ client_msg_id: reusedIds, body: text(200) })),
    'DELETE /api/v1/conversations/:id/messages/:seq': req(msgPath('', fc.oneof(fc.constant(''), query({ client_msg_id: fc.uuid() }))), body({ client_msg_id: reusedIds })),
    'GET /api/v1/conversations/:id/threads/:seq': req(msgPath('', query({ after: num(60), limit: num(300) })).map((path) => path.replace('/messages/', '/threads/')), null),
    'PUT /api/v1/conversations/:id/mute': req(convPath('/mute'), body({ until: fc.oneof(fc.constant(null), fc.constant(-1), edgeNumber) })),
    'POST /api/v1/conversations/:id/unread': req(convPath('/unread'), body({ anything: wrongType })),
    'POST /api/v1/conversations/:id/read': req(convPath('/read'), body({ seq: p.seqs })),
    'POST /api/v1/attachments': req(v1('/attachments'), body({ name: text(100), content_type: fc.constantFrom('image/jpeg', 'text/plain', 'application/x-msdownload', 'x', 'image/png; q=1'), size: edgeNumber, sha256: fc.constantFrom('0'.repeat(64), 'g'.repeat(64), 'ab') })),
    'POST /api/v1/attachments/:id/complete': req(attachment.map((a) => `/api/v1/attachments/${a}/complete`), null),
    'GET /api/v1/attachments/:id': req(attachment.map((a) => `/api/v1/attachments/${a}`), null),
    'GET /api/v1/attachments/:id/url': req(fc.tuple(attachment, query({ rendition: fc.constantFrom('thumbnail', 'display', 'original', 'raw'), redirect: fc.constantFrom('1', '0') })).map(([a, q]) => `/api/v1/attachments/${a}/url${q}`), null),
    'GET /api/v1/push/vapid-key': req(v1('/push/vapid-key'), null),
    'GET /api/v1/push/devices': req(v1('/push/devices'), null),
    'PUT /api/v1/push/devices/:device_id': req(
      device.map((d) => `/api/v1/push/devices/${d}`),
      body({
        platform: fc.constantFrom('web', 'android', 'ios', 'tv'),
        app_id: text(255),
        webpush: fc.oneof(fc.record({ endpoint: fc.constantFrom('https://push.example.invalid/x', 'http://127.0.0.1/', 'https://169.254.169.254/'), keys: fc.record({ p256dh: text(90), auth: text(24) }) }), wrongType),
        fcm_token: text(200),
      }),
    ),
    'DELETE /api/v1/push/devices/:device_id': req(device.map((d) => `/api/v1/push/devices/${d}`), null),
    'GET /api/v1/push/dead-letters': req(query({ limit: num(300) }).map((q) => `/api/v1/push/dead-letters${q}`), null),
  };
}

/** Routes whose documented answers include 503 `unavailable` (a display size not made yet). */
const mayBeUnavailable = new Set(['GET /api/v1/attachments/:id/url']);

test('the table has one entry per registered route, and no other', () => {
  const table = routeTable({ convs: ['c'], users: ['u'], seqs: fc.constant(1) });
  expect(Object.keys(table).sort()).toEqual(registeredRoutes());
});

describe('REST fuzzer', () => {
  let server: TestServer;
  afterAll(async () => {
    if (server) await stopTestServer(server);
  });

  test('every route answers every input with a success or a proper 4xx; every invariant after', async () => {
    server = await startTestServer({ LINK_PREVIEWS: 'off' });
    const base = server.url;
    const before = memory();
    const [main, peer, third] = [await registerUserPatiently(base), await registerUserPatiently(base), await registerUserPatiently(base)];
    const victimName = `victim${process.pid}`;
    const victimPassword = `v-${Date.now()}-not-guessable`;
    let victim: TestUser = await registerUserPatiently(base, victimName, victimPassword);
    const group = await createConversation(base, main, 'group', [peer, third, victim], 'rest fuzz');
    const direct = await createConversation(base, main, 'direct', [peer]);
    const theirs = await createConversation(base, peer, 'group', [third], 'not main’s');
    const { sock } = await TestSocket.connect(server.wsUrl, peer.token, 'seed', undefined, 'websocket');
    for (let i = 0; i < 5; i++) for (const conv of [group, direct, theirs]) await sock.sendMessage(conv, `seed ${i}`, `rest-seed-${conv}-${i}`);
    sock.close();

    const seed = fuzzSeed() + 2;
    const runs = fuzzRuns(4000);
    const table = routeTable({ convs: [group, direct, theirs], users: [main.user_id, peer.user_id, third.user_id, victim.user_id], seqs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: edgeNumber }) });
    const keys = Object.keys(table);
    const input = fc.constantFrom(...keys).chain((key) => table[key].map((r): [string, Request] => [key, r]));
    const problems: string[] = [];
    const statuses: Record<string, number> = {};
    const duplicates = new Map<string, number>();
    const created = new Set<string>();
    const started = Date.now();
    let sent = 0;
    for (let i = 0; i < runs; i += 100) {
      for (const [key, r] of fc.sample(input, { seed: seed + i, numRuns: Math.min(100, runs - i) })) {
        const token = r.caller === 'main' ? main.token : r.caller === 'victim' ? victim.token : r.caller === 'forged' ? main.token.slice(0, -4) + 'AAAA' : undefined;
        const method = key.slice(0, key.indexOf(' '));
        const res = await api(base, method, r.path, { body: r.body, raw: r.raw, token, headers: r.contentType ? { 'content-type': r.contentType } : {} });
        sent++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        // Node's HTTP parser refuses a request line over its 16 KiB header limit before the
        // app sees it; the server answers 431 with the API's error body (too_large).
        const overHeaderLimit = res.status === 431 && r.path.length > 16 * 1024;
        const bad = overHeaderLimit
          ? (res.json as { error?: { code?: unknown } } | null)?.error?.code === 'too_large'
            ? null
            : `431 without the too_large body: ${res.text.slice(0, 200)}`
          : restProblem(res, mayBeUnavailable.has(key));
        if (bad !== null && problems.length < 50) problems.push(`${key} ${r.path.slice(0, 120)} ${JSON.stringify(r.body ?? r.raw ?? null)?.slice(0, 200)}: ${bad}`);
        const answer = res.json as { conv_id?: string; duplicate?: boolean } | null;
        if (key === 'POST /api/v1/conversations' && res.status < 300 && typeof answer?.conv_id === 'string') created.add(answer.conv_id);
        if (key.includes('/messages') && res.status === 200 && answer?.duplicate === true && answer.conv_id) duplicates.set(answer.conv_id, (duplicates.get(answer.conv_id) ?? 0) + 1);
        // The victim signed out or was throttled out of its token: sign in again now and then.
        if (r.caller === 'victim' && res.status === 204 && key !== 'DELETE /api/v1/me/devices/:device_id') {
          const login = await authRequest(base, '/auth/login', { username: victimName, password: victimPassword });
          if (login.status === 200 && login.body.token) victim = { ...victim, token: login.body.token };
        }
      }
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    expect(problems).toEqual([]);

    await normalClientWorks(server);
    const logIssues: string[] = [];
    let checked = 0;
    for (const conv of [group, direct, theirs, ...created]) {
      // Read as whichever of the users is still a member (the fuzzer may have made them leave).
      for (const u of [main, peer, third]) {
        const probe = await api(base, 'GET', `/api/v1/conversations/${conv}`, { token: u.token });
        if (probe.status !== 200) continue;
        logIssues.push(...logProblems(conv, await readLog(base, u.token, conv), duplicates.get(conv) ?? 0));
        checked++;
        break;
      }
    }
    expect(logIssues).toEqual([]);
    const actors = await metric(base, 'chat_live_actors');
    expect(actors).toBeLessThanOrEqual(3 + created.size + 1);
    const after = memory();
    const growthMb = { rss: Math.round((after.rss - before.rss) / 2 ** 20), heap: Math.round((after.heap - before.heap) / 2 ** 20) };
    expect(growthMb.heap).toBeLessThan(256);
    console.log('fuzz', { seed, rest: sent, routes: keys.length, seconds, statuses, conversationsCreated: created.size, logsChecked: checked, liveActors: actors, growthMb });
  });
});

/**
 * What must hold after the fuzzers ran, whatever they sent: the server answers, a normal
 * client still works, every conversation's log is well-formed and written by its members
 * only, memory and actors stay bounded; and the shape of every answer to a bad input.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CloseCode, httpStatus, illFormedField, type ErrorCode, type EventKind } from '../../src/protocol';
import { TestSocket, createConversation, registerUserPatiently, type TestServer } from '../e2e/harness';

export const errorCodes = Object.keys(httpStatus) as ErrorCode[];

/** Close codes a fuzzed session may end with: each documented in docs/protocol.md "Close codes". */
export const expectedCloses: ReadonlySet<number> = new Set([CloseCode.protocolError, CloseCode.rateLimited, CloseCode.tooLarge, CloseCode.unauthorized]);

/** One REST answer, kept raw: the fuzzer must not trust it to be JSON. */
export interface RawAnswer {
  status: number;
  text: string;
  json: unknown;
  retryAfter: string | null;
}

/** A request with any method, raw body or value, headers; never throws on the answer's content. */
export async function api(base: string, method: string, path: string, opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, retryAfter: res.headers.get('retry-after') };
}

/**
 * Why a REST answer to a fuzzed request breaks the contract (docs/protocol.md "Errors"),
 * or null: never 500; every 4xx and 5xx is `{error: {code, message}}` with the code's own
 * status; 503 only where `unavailableOk` says the route documents it.
 */
export function restProblem(res: RawAnswer, unavailableOk = false): string | null {
  if (res.status >= 200 && res.status < 400) return null;
  if (res.status === 500) return `500: ${res.text.slice(0, 200)}`;
  const err = (res.json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof err?.code !== 'string' || typeof err.message !== 'string') return `${res.status} without an error body: ${res.text.slice(0, 200)}`;
  if (!errorCodes.includes(err.code as ErrorCode)) return `unknown error code ${err.code}`;
  if (httpStatus[err.code as ErrorCode] !== res.status) return `${res.status} with code ${err.code}`;
  if (res.status >= 500 && !(res.status === 503 && unavailableOk)) return `${res.status} ${err.code}: ${err.message}`;
  if (res.status === 429 && res.retryAfter === null) return '429 without Retry-After';
  return null;
}

/** Why an ERROR frame is not a proper one, or null. */
export function errorFrameProblem(f: Record<string, unknown>): string | null {
  if (!errorCodes.includes(f.code as ErrorCode)) return `ERROR with unknown code ${String(f.code)}`;
  if (f.code === 'internal') return `ERROR internal: ${String(f.message)}`;
  if (typeof f.message !== 'string' || f.message === '') return 'ERROR without a message';
  if (f.ref !== null && typeof f.ref !== 'string') return 'ERROR ref neither string nor null';
  if (illFormedField(f) !== null) return `ERROR holds a lone surrogate in ${String(illFormedField(f))}: ${JSON.stringify(f).slice(0, 200)}`;
  return null;
}

// ---- the log ----

const eventKinds: readonly EventKind[] = ['message', 'reaction', 'edit', 'delete', 'member_added', 'member_removed', 'conversation_updated', 'link_preview', 'attachment_ready'];
const isSeq = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isId = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 64;
const isIds = (v: unknown): boolean => Array.isArray(v) && v.every(isId);

/** Why a stored event is not a ConvEvent of its kind (protocol/frames.ts), or null. */
export function eventProblem(e: Record<string, unknown>, convId: string): string | null {
  if (e.conv_id !== convId) return 'conv_id';
  if (!isSeq(e.seq)) return 'seq';
  if (typeof e.ts !== 'number' || !Number.isFinite(e.ts)) return 'ts';
  if (!isId(e.sender_id)) return 'sender_id';
  if (!eventKinds.includes(e.kind as EventKind)) return `kind ${String(e.kind)}`;
  if (illFormedField(e) !== null) return `lone surrogate in ${illFormedField(e)}`;
  switch (e.kind) {
    case 'message':
      if (typeof e.body !== 'string' || e.body.length > 10_000) return 'message body';
      if (!(e.reply_to === null || e.reply_to === undefined || isSeq(e.reply_to))) return 'reply_to';
      if (!(e.mentions === undefined || isIds(e.mentions))) return 'mentions';
      if (!(e.attachments === undefined || Array.isArray(e.attachments))) return 'attachments';
      if (!(e.client_msg_id === undefined || isId(e.client_msg_id))) return 'client_msg_id';
      return null;
    case 'reaction':
      return isSeq(e.target_seq) && (e.emoji === null || (typeof e.emoji === 'string' && e.emoji.length >= 1 && e.emoji.length <= 32)) ? null : 'reaction';
    case 'edit':
      return isSeq(e.target_seq) && typeof e.body === 'string' && e.body.length <= 10_000 ? null : 'edit';
    case 'delete':
    case 'link_preview':
    case 'attachment_ready':
      return isSeq(e.target_seq) ? null : String(e.kind);
    case 'member_added':
    case 'member_removed':
      return isIds(e.user_ids) && (e.user_ids as unknown[]).length > 0 ? null : String(e.kind);
    default:
      return null;
  }
}

/** Every event of a conversation, paged through /events as one of its members. */
export async function readLog(base: string, token: string, convId: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let after = 0; ; ) {
    const res = await api(base, 'GET', `/api/v1/conversations/${encodeURIComponent(convId)}/events?after=${after}&limit=1000`, { token });
    if (res.status !== 200) throw new Error(`events of ${convId}: ${res.status} ${res.text.slice(0, 200)}`);
    const page = res.json as { events: Record<string, unknown>[]; more: boolean };
    out.push(...page.events);
    if (!page.more || page.events.length === 0) return out;
    after = page.events[page.events.length - 1].seq as number;
  }
}

/**
 * What is wrong with a conversation's log: seqs not strictly increasing, gaps beyond the
 * seqs that duplicate retries may leave unused (docs/protocol.md "Idempotency"), events
 * that are not well-formed, and events whose sender was not a member at that seq (the
 * membership replayed from member_added / member_removed, as the actor keeps it).
 */
export function logProblems(convId: string, events: Record<string, unknown>[], allowedGaps: number): string[] {
  const problems: string[] = [];
  const members = new Set<string>();
  let last = 0;
  let gaps = 0;
  for (const e of events) {
    const bad = eventProblem(e, convId);
    if (bad !== null) problems.push(`${convId}#${String(e.seq)}: ${bad}: ${JSON.stringify(e).slice(0, 200)}`);
    const seq = e.seq as number;
    if (seq <= last) problems.push(`${convId}: seq ${seq} after ${last}`);
    else gaps += seq - last - 1;
    last = Math.max(last, seq);
    const sender = e.sender_id as string;
    if (e.kind === 'member_added' && seq === 1) for (const u of e.user_ids as string[]) members.add(u);
    else if (!members.has(sender)) problems.push(`${convId}#${seq}: ${e.kind} from non-member ${sender}`);
    if (e.kind === 'member_added' && seq !== 1) for (const u of e.user_ids as string[]) members.add(u);
    if (e.kind === 'member_removed') for (const u of e.user_ids as string[]) members.delete(u);
  }
  if (gaps > allowedGaps) problems.push(`${convId}: ${gaps} seqs missing, at most ${allowedGaps} expected`);
  return problems;
}

// ---- the server as a whole ----

/** A gauge or counter from /metrics (summed over its labels), or null when absent. */
export async function metric(base: string, name: string): Promise<number | null> {
  const res = await api(base, 'GET', '/metrics');
  let sum: number | null = null;
  for (const line of res.text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** /healthz answers, and two new users can still talk: CONNECT, SEND, ACK and DELIVER. */
export async function normalClientWorks(server: TestServer): Promise<void> {
  const health = await api(server.url, 'GET', '/healthz');
  if (health.status !== 200) throw new Error(`/healthz ${health.status}`);
  const [a, b] = [await registerUserPatiently(server.url), await registerUserPatiently(server.url)];
  const conv = await createConversation(server.url, a, 'direct', [b]);
  const { sock: sa } = await TestSocket.connect(server.wsUrl, a.token, 'after-fuzz-a', undefined, 'websocket');
  const { sock: sb } = await TestSocket.connect(server.wsUrl, b.token, 'after-fuzz-b', undefined, 'websocket');
  try {
    const ack = await sa.sendMessage(conv, 'still here?', 'after-fuzz-1');
    if (ack.type !== 'ACK') throw new Error(`after the fuzz a SEND got ${JSON.stringify(ack)}`);
    const got = await sb.next((f) => f.type === 'DELIVER' && f.conv_id === conv && f.kind === 'message', 10_000);
    if (got.body !== 'still here?') throw new Error(`after the fuzz DELIVER carried ${JSON.stringify(got)}`);
  } finally {
    sa.close();
    sb.close();
  }
}

/**
 * Process memory now (the server runs in this process), after a full collection: without
 * it the numbers measure garbage not yet collected (megabyte frames went through), not what
 * the server keeps. `gc` is reached through V8's flag, as jest runs without --expose-gc.
 */
export function memory(): { rss: number; heap: number } {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

/** The seed of this run: FUZZ_SEED, else a fixed one, so CI sends the same inputs every time. Printed either way. */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  return env !== undefined && env !== '' ? Number(env) : 14_2026;
}

/** How many inputs a fuzzer sends: FUZZ_RUNS, else its CI size. */
export function fuzzRuns(ciDefault: number): number {
  const env = process.env.FUZZ_RUNS;
  return env !== undefined && env !== '' ? Math.max(1, Math.floor(Number(env))) : ciDefault;
}

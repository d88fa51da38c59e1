/**
 * A local stand-in for the two Google endpoints firebase-admin talks to when it sends a
 * message, so tests run the library's real code up to the socket and nothing leaves the
 * machine:
 * - FCM HTTP v1 (`POST https://fcm.googleapis.com/v1/projects/<p>/messages:send`): every
 *   request is kept, and answered by a reply queued for its registration token, else by
 *   `reply` (200 by default);
 * - Google's OAuth token endpoint (`POST https://oauth2.googleapis.com/token`), where a
 *   service account credential trades a signed JWT (jwt-bearer grant) for an access token:
 *   the assertion is kept and a fresh access token handed out.
 * The agent from agent() connects every host to this server; TLS still checks the host
 * name against the test certificate (tls.ts), which names both hosts.
 */
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tlsModule from 'node:tls';
import { makeTestTls, type TestTls } from './tls';

export const FCM_HOST = 'fcm.googleapis.com';
export const OAUTH_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const OAUTH_HOST = new URL(OAUTH_TOKEN_URL).host;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** One FCM send as the endpoint saw it. */
export interface FcmRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { message: Record<string, unknown> };
  /** The status it was answered with; null until the answer is written. */
  status: number | null;
}

/** One token exchange as the endpoint saw it. */
export interface TokenRequest {
  headers: IncomingHttpHeaders;
  grantType: string | null;
  /** The JWT the credential signed. */
  assertion: string | null;
  /** The access token handed out for it; null when the request was refused. */
  accessToken: string | null;
}

export type Reply = (res: ServerResponse) => void;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => (res) =>
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));

/** An FCM v1 error answer: google.rpc.Status with FCM's error code in the details, as FCM words it. */
export const fcmError = (status: number, rpcStatus: string, text: string, errorCode?: string, headers?: Record<string, string>): Reply =>
  json(
    status,
    {
      error: {
        code: status,
        message: text,
        status: rpcStatus,
        details: errorCode === undefined ? [] : [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
      },
    },
    headers,
  );

/** 200 with a message name, as FCM accepts a send. */
export const accept: Reply = (res) => json(200, { name: `projects/local/messages/${randomBytes(6).toString('hex')}` })(res);

/** Connects every request, whatever its host, to one local port; TLS still checks the name against the test CA. */
class LocalAgent extends https.Agent {
  constructor(private readonly port: number, options: https.AgentOptions) {
    super(options);
  }

  // Returning the socket is enough: the agent then uses it as is (its callback is for asynchronous creation).
  override createConnection(options: https.RequestOptions): Duplex {
    return tlsModule.connect({ ...(options as tlsModule.ConnectionOptions), host: '127.0.0.1', port: this.port });
  }
}

export class LocalFcm {
  /** FCM sends, in arrival order. */
  readonly received: FcmRequest[] = [];
  /** Token exchanges, in arrival order. */
  readonly tokenRequests: TokenRequest[] = [];
  /** Requests to anything but the two endpoints ("METHOD host path"): a test expects none. */
  readonly unexpected: string[] = [];
  /** The answer to a send no queued reply is waiting for. */
  reply: Reply = accept;
  private readonly queued = new Map<string, Reply[]>();
  private readonly agents: https.Agent[] = [];
  private issued = 0;

  private constructor(
    private readonly tls: TestTls,
    private readonly server: https.Server,
    private readonly port: number,
  ) {}

  static async start(): Promise<LocalFcm> {
    const tls = makeTestTls();
    let fcm: LocalFcm | null = null;
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => fcm?.take(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fcm = new LocalFcm(tls, server, (server.address() as AddressInfo).port);
    return fcm;
  }

  /** The test certificate (PEM), which clients must trust. */
  get ca(): string {
    return this.tls.cert;
  }

  /** A keep-alive agent that reaches this endpoint whatever host a request names, trusting its CA. */
  agent(): https.Agent {
    const agent = new LocalAgent(this.port, { ca: this.tls.cert, keepAlive: true });
    this.agents.push(agent);
    return agent;
  }

  /** Answers the next sends to `token` with `replies`, in order; after them, `reply` again. */
  queue(token: string, ...replies: Reply[]): void {
    this.queued.set(token, [...(this.queued.get(token) ?? []), ...replies]);
  }

  /** The sends addressed to registration token `token`. */
  to(token: string): FcmRequest[] {
    return this.received.filter((r) => r.body.message?.token === token);
  }

  /** Forgets what was received and queued, and answers 200 again. */
  reset(): void {
    this.received.length = 0;
    this.tokenRequests.length = 0;
    this.unexpected.length = 0;
    this.queued.clear();
    this.reply = accept;
  }

  async close(): Promise<void> {
    for (const a of this.agents) a.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private take(req: IncomingMessage, text: string, res: ServerResponse): void {
    const host = req.headers.host ?? '';
    const path = req.url ?? '';
    if (req.method === 'POST' && host === OAUTH_HOST && path === '/token') return this.token(req, text, res);
    if (req.method === 'POST' && host === FCM_HOST && /^\/v1\/projects\/[^/]+\/messages:send$/.test(path)) return this.send(req, text, res);
    this.unexpected.push(`${req.method} ${host} ${path}`);
    json(404, { error: { code: 404, message: 'not a local endpoint', status: 'NOT_FOUND' } })(res);
  }

  private send(req: IncomingMessage, text: string, res: ServerResponse): void {
    let body: FcmRequest['body'];
    try {
      body = JSON.parse(text) as FcmRequest['body'];
    } catch {
      return fcmError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.')(res);
    }
    const request: FcmRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, status: null };
    this.received.push(request);
    res.once('finish', () => (request.status = res.statusCode));
    const token = body.message?.token;
    const reply = (typeof token === 'string' ? this.queued.get(token)?.shift() : undefined) ?? this.reply;
    reply(res);
  }

  /** The jwt-bearer grant as Google answers it: form in, JSON out; anything else is a 400 invalid_request. */
  private token(req: IncomingMessage, text: string, res: ServerResponse): void {
    const form = new URLSearchParams(text);
    const request: TokenRequest = { headers: req.headers, grantType: form.get('grant_type'), assertion: form.get('assertion'), accessToken: null };
    this.tokenRequests.push(request);
    const formType = /^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '');
    if (!formType || request.grantType !== JWT_BEARER || !request.assertion) {
      return json(400, { error: 'invalid_request', error_description: 'expected a jwt-bearer grant as a form' })(res);
    }
    request.accessToken = `ya29.local-${++this.issued}-${randomBytes(12).toString('base64url')}`;
    json(200, { access_token: request.accessToken, expires_in: 3599, token_type: 'Bearer' })(res);
  }
}

/**
 * Lets google-auth-library, which makes the service account's token request, make it
 * inside jest: its HTTP client (gaxios 7) loads node-fetch 3 with a dynamic import(),
 * which jest's CommonJS sandbox refuses without --experimental-vm-modules, while in a
 * browser it takes `window.fetch` instead. So this defines a `window` with only a fetch
 * that, like node-fetch, sends over the request's `agent` (native fetch would ignore it)
 * and gives a form body its content type. Outside jest node-fetch is used as is. Returns
 * the undo.
 */
export function installAgentFetch(): () => void {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'window');
  Object.defineProperty(globalThis, 'window', { value: { fetch: agentFetch }, configurable: true, writable: true });
  return () => {
    if (had) Object.defineProperty(globalThis, 'window', had);
    else Reflect.deleteProperty(globalThis, 'window');
  };
}

interface AgentFetchInit {
  method?: string;
  headers?: HeadersInit;
  body?: string | URLSearchParams | null;
  agent?: https.Agent;
  signal?: AbortSignal | null;
}

function agentFetch(url: string | URL, init: AgentFetchInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.body instanceof URLSearchParams && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
  const outgoing: Record<string, string> = {};
  headers.forEach((value, name) => (outgoing[name] = value));
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: outgoing, agent: init.agent, signal: init.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) out.append(name, v);
        const status = res.statusCode ?? 0;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: out }));
      });
    });
    req.on('error', reject);
    req.end(init.body == null ? undefined : String(init.body));
  });
}

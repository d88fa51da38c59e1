/**
 * Shard links, the default ShardTransport (contract in transport.ts): one WebSocket from
 * each shard to each peer it routes to, carrying conversation commands and their answers
 * (multiplexed by id) and handover requests. Direct links take one network hop each way;
 * the Redis transport takes two and costs Redis CPU (README, Performance, S7).
 * Peers authenticate with an HMAC of their shard id under the cluster secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { Command } from '../conversations';
import type { ShardInfo } from './membership';
import { LinkDownError, answer, replyError, type ShardHandler, type ShardReply, type ShardRequest, type ShardTransport } from './transport';

export { LinkDownError, NotOwnerError } from './transport';

export const linkPath = '/cluster/link';

/** What a shard does with requests from peers (kept under its first name). */
export type LinkHandler = ShardHandler;

export function linkToken(secret: string, shardId: string): string {
  return createHmac('sha256', secret).update(`link:${shardId}`).digest('base64url');
}

/** Accepts links from peers on the HTTP server's upgrade path `linkPath`. */
export class LinkServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly secret: string,
    private readonly handler: LinkHandler,
  ) {}

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const from = url.searchParams.get('from') ?? '';
    const token = Buffer.from(url.searchParams.get('token') ?? '');
    const expected = Buffer.from(linkToken(this.secret, from));
    if (from === '' || token.length !== expected.length || !timingSafeEqual(token, expected)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('error', () => undefined);
      ws.on('message', (data) => this.onRequest(ws, data.toString()));
    });
  }

  private onRequest(ws: WebSocket, text: string): void {
    let req: ShardRequest;
    try {
      req = JSON.parse(text) as ShardRequest;
    } catch {
      return;
    }
    void answer(this.handler, req).then((reply) => send(ws, reply));
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
  }
}

/** Links to peers, opened on first use and reopened after a failure. */
export class LinkPool implements ShardTransport {
  private readonly links = new Map<string, PeerLink>();

  constructor(
    private readonly selfId: string,
    private readonly secret: string,
    private readonly requestTimeoutMs: number,
  ) {}

  get(peerId: string, baseUrl: string): PeerLink {
    let link = this.links.get(peerId);
    if (!link || link.url !== baseUrl || link.dead) {
      link?.close();
      const wsUrl = `${baseUrl.replace(/^http/, 'ws')}${linkPath}?from=${encodeURIComponent(this.selfId)}&token=${linkToken(this.secret, this.selfId)}`;
      link = new PeerLink(baseUrl, wsUrl, this.requestTimeoutMs);
      this.links.set(peerId, link);
    }
    return link;
  }

  command(peer: ShardInfo, cmd: Command): Promise<unknown> {
    return this.get(peer.id, peer.url).command(cmd);
  }

  async release(peer: ShardInfo, convId: string): Promise<void> {
    await this.get(peer.id, peer.url).release(convId);
  }

  /** Drops links to shards that left the ring. */
  retain(peerIds: ReadonlySet<string>): void {
    for (const [id, link] of this.links) {
      if (!peerIds.has(id)) {
        link.close();
        this.links.delete(id);
      }
    }
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class PeerLink {
  private readonly ws: WebSocket;
  private readonly open: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead = false;

  constructor(
    readonly url: string,
    wsUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    this.open = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', (err) => reject(new LinkDownError(`link to ${url}: ${err.message}`)));
    });
    this.open.catch(() => undefined);
    this.ws.on('message', (data) => this.onReply(data.toString()));
    this.ws.on('close', () => this.fail(new LinkDownError(`link to ${url} closed`)));
    this.ws.on('error', (err) => this.fail(new LinkDownError(`link to ${url}: ${err.message}`)));
  }

  command(cmd: Command): Promise<unknown> {
    return this.request({ t: 'cmd', id: 0, cmd });
  }

  release(convId: string): Promise<unknown> {
    return this.request({ t: 'release', id: 0, conv_id: convId });
  }

  private async request(req: ShardRequest): Promise<unknown> {
    await this.open;
    if (this.dead) throw new LinkDownError(`link to ${this.url} is down`);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      // A peer that hangs is treated like one that died: the router retries elsewhere.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LinkDownError(`link to ${this.url}: no answer in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...req, id }));
    });
  }

  private onReply(text: string): void {
    const reply = JSON.parse(text) as ShardReply;
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    clearTimeout(call.timer);
    if (reply.t === 'ok') call.resolve(reply.result);
    else call.reject(replyError(reply));
  }

  private fail(err: Error): void {
    this.dead = true;
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(err);
    }
    this.pending.clear();
  }

  close(): void {
    this.dead = true;
    this.ws.terminate();
  }
}

function send(ws: WebSocket, reply: ShardReply): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
}

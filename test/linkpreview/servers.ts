/** Local HTTP servers for the previewer tests, each on its own loopback address (Linux routes 127/8 to lo). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/observability';

export interface TestServer {
  server: http.Server;
  port: number;
  /** http://<address>:<port><path> */
  url(path?: string): string;
  /** TCP connections accepted: the proof that a refused target was never contacted. */
  connections: number;
  /** Requests per path, and the Host header of each. */
  hits: Map<string, number>;
  hosts: string[];
  total(): number;
  close(): Promise<void>;
}

export async function startServer(address: string, handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer();
  const hits = new Map<string, number>();
  const ts: TestServer = {
    server,
    port: 0,
    url: (path = '/') => `http://${address}:${ts.port}${path}`,
    connections: 0,
    hits,
    hosts: [],
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => ts.connections++);
  server.on('request', (req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    ts.hosts.push(req.headers.host ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  ts.port = (server.address() as AddressInfo).port;
  return ts;
}

export interface LogEntry {
  level: string;
  message: string;
  host?: string | null;
  reason?: string;
}

/** A debug-level logger that keeps its entries, so tests can assert why a preview was skipped. */
export function capturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogEntry, _encoding, callback) {
      entries.push(info);
      callback();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, entries };
}

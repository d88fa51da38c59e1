/**
 * docker-compose.yml, deploy/haproxy.cfg and config/distributed.json describe one
 * deployment from three sides; no Docker engine runs here to find out that they disagree
 * (scripts/check-deploy.sh checks each file on its own). This reads them together: every
 * shard service is behind the load balancer on its HTTP and MQTT ports and is named as the
 * others reach it, mounts the config file it is told to read, and the engines' addresses in
 * the config are services of the compose file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';

// js-yaml is a devDependency (jest's istanbul uses the same major); the compose file is YAML.
const { load } = require('js-yaml') as { load: (text: string) => unknown };

interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  networks?: Record<string, { ipv4_address?: string; aliases?: string[] }> | string[];
  ports?: string[];
}

const repo = join(__dirname, '..', '..');
const compose = load(readFileSync(join(repo, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const haproxy = readFileSync(join(repo, 'deploy', 'haproxy.cfg'), 'utf8');
const config = JSON.parse(readFileSync(join(repo, 'config', 'distributed.json'), 'utf8')) as Record<string, string | number>;
const shards = Object.entries(compose.services).filter(([, s]) => s.environment?.CONFIG_FILE !== undefined);
// What a shard makes of the file (MQTT's port and keep-alive are defaults it derives), with
// stand-ins for the secrets the environment gives it.
const loaded = loadConfig({
  CONFIG_FILE: join(repo, 'config', 'distributed.json'),
  JWT_SECRET: 'j'.repeat(48),
  S3_ACCESS_KEY: 'access-key',
  S3_SECRET_KEY: 'secret-key',
  PUSH_VAPID_PUBLIC_KEY: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'),
  PUSH_VAPID_PRIVATE_KEY: Buffer.alloc(32, 2).toString('base64url'),
});

/** A section of the HAProxy configuration ("frontend mqtt", "backend shards") up to the next one. */
function section(name: string): string {
  return haproxy.split(/^(?=frontend |backend |defaults|global|resolvers )/m).find((b) => b.startsWith(`${name}\n`)) ?? '';
}

/** An HAProxy time ("8m", "60s", "1h"; bare numbers are milliseconds) in seconds. */
function seconds(time: string): number {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(time);
  if (!m) throw new Error(`not an HAProxy time: ${time}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 'ms'] ?? NaN;
  return Number(m[1]) * unit;
}

function timeout(sectionText: string, which: string): number {
  const m = new RegExp(`^\\s*timeout ${which} (\\S+)$`, 'm').exec(sectionText);
  if (!m) throw new Error(`no timeout ${which} in ${sectionText.split('\n')[0]}`);
  return seconds(m[1]);
}

test('three shards, each its own name and address, reading the mounted config/distributed.json', () => {
  expect(shards.map(([name]) => name)).toEqual(['shard-1', 'shard-2', 'shard-3']);
  for (const [name, s] of shards) {
    const env = s.environment as Record<string, string>;
    expect(env.SHARD_ID).toBe(name);
    expect(env.CLUSTER_ADVERTISE_URL).toBe(`http://${name}:${config.PORT}`);
    expect(s.volumes).toContain(`./config/distributed.json:${env.CONFIG_FILE}:ro`);
    expect(s.volumes?.some((v) => v.endsWith(`:${config.DATA_DIR}`))).toBe(true);
    expect(s.healthcheck?.test).toEqual(['CMD', 'node', 'scripts/healthcheck.js', '/readyz']);
    for (const engine of ['cassandra', 'redis', 'minio']) expect(s.depends_on?.[engine]).toEqual({ condition: 'service_healthy' });
    if (name !== 'shard-1') expect(s.depends_on?.['shard-1']).toEqual({ condition: 'service_healthy' });
  }
});

test('HAProxy balances over exactly the shard services, and the shards trust its address', () => {
  for (const backend of ['shards', 'longpoll']) {
    const servers = [...section(`backend ${backend}`).matchAll(/^\s*server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(servers).toEqual(shards.map(([name]) => `${name} ${name}:${config.PORT}`));
  }
  const lb = compose.services.lb;
  const networks = lb.networks as Record<string, { ipv4_address?: string }>;
  expect(Object.values(networks).map((n) => n.ipv4_address)).toEqual([config.TRUST_PROXY]);
  expect(haproxy).toMatch(new RegExp(`^\\s*bind :${config.PORT}$`, 'm'));
});

test("HAProxy's MQTT frontend forwards to every shard's MQTT port, checked on its HTTP port, and outlives the longest keep-alive", () => {
  const mqtt = loaded.mqtt;
  if (mqtt === null) throw new Error('config/distributed.json turns MQTT off');
  // send-proxy: the shards learn each client's address from the PROXY header (they trust the balancer).
  const servers = [...section('backend mqtt').matchAll(/^\s*server (\S+) (\S+) port (\d+) send-proxy$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  expect(servers).toEqual(shards.map(([name]) => `${name} ${name}:${mqtt.port} ${config.PORT}`));
  expect(section('frontend mqtt')).toMatch(new RegExp(`^\\s*bind :${mqtt.port}$`, 'm'));
  // The server drops a connection silent for 1.5 keep-alives at its next heartbeat; the
  // balancer must not cut it first, over TCP (client and server side) or over WebSocket.
  const silent = 1.5 * mqtt.maxKeepAliveS + loaded.heartbeatMs / 1000;
  expect(timeout(section('frontend mqtt'), 'client')).toBeGreaterThan(silent);
  expect(timeout(section('backend mqtt'), 'server')).toBeGreaterThan(silent);
  expect(timeout(section('defaults'), 'tunnel')).toBeGreaterThan(silent);
  // Published by the load balancer, exposed by the image.
  expect(compose.services.lb.ports).toEqual([`127.0.0.1:${config.PORT}:${config.PORT}`, `127.0.0.1:${mqtt.port}:${mqtt.port}`]);
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  expect(/^EXPOSE (.+)$/m.exec(dockerfile)?.[1].split(' ')).toEqual([String(config.PORT), String(mqtt.port)]);
});

test("the config's engine addresses are the compose file's services", () => {
  const names = new Set(Object.keys(compose.services));
  for (const point of String(config.CASSANDRA_CONTACT_POINTS).split(',')) expect(names).toContain(point.split(':')[0]);
  expect(names).toContain(new URL(String(config.REDIS_URL)).hostname);
  const s3Host = new URL(String(config.S3_ENDPOINT)).hostname;
  const minio = compose.services.minio.networks as Record<string, { aliases?: string[] }>;
  expect(Object.values(minio).flatMap((n) => n.aliases ?? [])).toContain(s3Host);
  expect(compose.services.minio.image).toMatch(/:RELEASE\./);
});

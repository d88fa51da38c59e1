/**
 * docker-compose.yml, deploy/haproxy.cfg and config/distributed.json describe one
 * deployment from three sides; no Docker engine runs here to find out that they disagree
 * (scripts/check-deploy.sh checks each file on its own). This reads them together: every
 * shard service is behind the load balancer and is named as the others reach it, mounts the
 * config file it is told to read, and the engines' addresses in the config are services of
 * the compose file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// js-yaml is a devDependency (jest's istanbul uses the same major); the compose file is YAML.
const { load } = require('js-yaml') as { load: (text: string) => unknown };

interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  networks?: Record<string, { ipv4_address?: string; aliases?: string[] }> | string[];
}

const repo = join(__dirname, '..', '..');
const compose = load(readFileSync(join(repo, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const haproxy = readFileSync(join(repo, 'deploy', 'haproxy.cfg'), 'utf8');
const config = JSON.parse(readFileSync(join(repo, 'config', 'distributed.json'), 'utf8')) as Record<string, string | number>;
const shards = Object.entries(compose.services).filter(([, s]) => s.environment?.CONFIG_FILE !== undefined);

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
    const section = haproxy.split(/^backend /m).find((b) => b.startsWith(`${backend}\n`)) ?? '';
    const servers = [...section.matchAll(/^\s*server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(servers).toEqual(shards.map(([name]) => `${name} ${name}:${config.PORT}`));
  }
  const lb = compose.services.lb;
  const networks = lb.networks as Record<string, { ipv4_address?: string }>;
  expect(Object.values(networks).map((n) => n.ipv4_address)).toEqual([config.TRUST_PROXY]);
  expect(haproxy).toMatch(new RegExp(`^\\s*bind :${config.PORT}$`, 'm'));
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

#!/usr/bin/env node
// Replays the Dockerfile without Docker, for machines that have no engine: each stage gets
// a folder standing for its filesystem under a temporary directory, and the instructions
// run there in order, with the image's absolute paths mapped into that folder. COPY copies
// from this repository (what the build context would send, less .dockerignore) or from an
// earlier stage; RUN runs with the stage's ENV. Then the last stage's CMD is started, its
// HEALTHCHECK command is run until it passes (or the start period ends), and the server is
// stopped with the STOPSIGNAL and must exit 0.
//
//   node scripts/docker-replay.js          the whole replay (npm ci, build, start: minutes)
//   node scripts/docker-replay.js --plan   only parse and check every COPY source exists
//   --file=PATH                            another Dockerfile (its context is still this repository)
//   --keep                                 keep the temporary folder (removed after a success)
//
// What cannot be replayed is said, never passed over in silence: the base image itself
// (this machine's Node and Debian stand in for node:20-bookworm-slim), `apt-get` (checked
// instead: the packages must be installed here), `chown` to the image's user, USER,
// VOLUME and EXPOSE (no user switch, no volume, a free port instead of the image's PORT).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { basename, dirname, join, posix } = require('node:path');

const root = join(__dirname, '..');

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function parse(text) {
  const out = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\w+)\s+(.*)$/.exec(full);
    if (!m) throw new Error(`docker-replay: cannot read line: ${full}`);
    out.push({ op: m[1].toUpperCase(), args: m[2] });
  }
  return out;
}

/** The argument list of an exec-form (JSON array) instruction. */
const execForm = (args) => JSON.parse(args);

/** Splits `--flag=value ... rest` into flags and what follows. */
function flags(args) {
  const found = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    found[m[1]] = m[2];
    rest = rest.slice(m[0].length);
  }
  return { flags: found, rest };
}

/** KEY=value pairs of an ENV line (the image's values carry no spaces or quotes). */
function envPairs(args) {
  return Object.fromEntries(args.split(/\s+/).map((p) => p.split('=')).map(([k, ...v]) => [k, v.join('=')]));
}

/** .dockerignore patterns: paths from the context's root (no wildcards, as this repository's). */
function ignored() {
  const file = join(root, '.dockerignore');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A duration of a HEALTHCHECK option (`10s`, `1m`) in milliseconds. */
function duration(text, fallbackMs) {
  if (!text) return fallbackMs;
  const m = /^(\d+)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`docker-replay: cannot read duration ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2]];
}

async function main() {
  const planOnly = process.argv.includes('--plan');
  const fileArg = process.argv.find((a) => a.startsWith('--file='));
  const steps = parse(readFileSync(fileArg ? fileArg.slice('--file='.length) : join(root, 'Dockerfile'), 'utf8'));
  const base = planOnly ? null : mkdtempSync(join(tmpdir(), 'docker-replay-'));
  const skip = ignored();
  const stages = [];
  let stage = null;
  const notRun = [];
  const log = (text) => console.log(text);
  /** Where an absolute path of the current image lives in the replay. */
  const inStage = (s, p) => join(s.dir, p);
  const resolveDest = (s, p) => (p.startsWith('/') ? p : posix.join(s.workdir, p));

  for (const { op, args } of steps) {
    switch (op) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        stage = { image: m[1], name: m[2] ?? String(stages.length), workdir: '/', env: {}, dir: base ? join(base, `stage-${stages.length}`) : '' };
        stages.push(stage);
        if (base) mkdirSync(stage.dir, { recursive: true });
        log(`FROM ${args}: this machine's Node ${process.version} stands in for ${m[1]}`);
        notRun.push(`FROM ${m[1]}: the base image (this machine's Node ${process.version} and OS instead)`);
        break;
      }
      case 'WORKDIR':
        stage.workdir = resolveDest(stage, args);
        if (base) mkdirSync(inStage(stage, stage.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(stage.env, envPairs(args));
        break;
      case 'COPY': {
        const { flags: f, rest } = flags(args);
        const parts = rest.split(/\s+/);
        const dest = resolveDest(stage, parts.pop());
        const from = f.from === undefined ? null : stages.find((s) => s.name === f.from);
        if (f.from !== undefined && !from) throw new Error(`docker-replay: COPY --from=${f.from}: no such stage`);
        for (const src of parts) {
          if (!from) {
            if (!existsSync(join(root, src))) throw new Error(`docker-replay: COPY ${src}: not in the build context`);
            if (skip.includes(src.split('/')[0])) throw new Error(`docker-replay: COPY ${src}: excluded by .dockerignore`);
          }
          if (!base) continue;
          const source = from ? inStage(from, resolveDest(from, src)) : join(root, src);
          const target = dest.endsWith('/') || parts.length > 1 ? join(inStage(stage, dest), basename(src)) : inStage(stage, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, {
            recursive: true,
            filter: from ? undefined : (p) => !skip.some((name) => p === join(root, name) || p.startsWith(join(root, name) + '/')),
          });
        }
        log(`COPY ${args}`);
        break;
      }
      case 'RUN': {
        for (const part of args.split(/\s+&&\s+/)) {
          if (/^apt-get update\b|^rm -rf \/var\/lib\/apt/.test(part)) continue;
          const apt = /^apt-get install\s+(?:-\S+\s+)*(.*)$/.exec(part);
          if (apt) {
            const pkgs = apt[1].split(/\s+/).filter((p) => !p.startsWith('-'));
            const missing = pkgs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
            if (missing.length) throw new Error(`docker-replay: the image installs ${missing.join(', ')}, not installed here (apt-get install ${missing.join(' ')})`);
            log(`RUN ${part}: not run (root, the image's apt); installed here: ${pkgs.join(', ')}`);
            notRun.push(`RUN ${part} (checked instead: the packages are installed here)`);
            continue;
          }
          if (/^chown\b/.test(part)) {
            log(`RUN ${part}: not run (the image's user)`);
            notRun.push(`RUN ${part}`);
            continue;
          }
          if (!base) continue;
          // The image's absolute paths, mapped into the stage's folder.
          const command = part.replace(/(^|\s)\/(?=\w)/g, `$1${stage.dir}/`);
          log(`RUN ${part}`);
          const t0 = Date.now();
          const r = spawnSync('sh', ['-c', command], { cwd: inStage(stage, stage.workdir), env: { ...process.env, ...stage.env }, stdio: 'inherit' });
          if (r.status !== 0) throw new Error(`docker-replay: RUN ${part} failed (exit ${r.status})`);
          log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        }
        break;
      }
      case 'HEALTHCHECK': {
        const { flags: f, rest } = flags(args);
        const m = /^CMD\s+(.*)$/.exec(rest);
        if (!m) throw new Error(`docker-replay: HEALTHCHECK ${args}: only the CMD form is replayed`);
        stage.healthcheck = { cmd: execForm(m[1]), intervalMs: duration(f.interval, 30_000), startMs: duration(f['start-period'], 0), timeoutMs: duration(f.timeout, 30_000) };
        const script = stage.healthcheck.cmd.find((a) => a.endsWith('.js'));
        if (script && !existsSync(join(root, script))) throw new Error(`docker-replay: HEALTHCHECK runs ${script}, which is not in the repository`);
        break;
      }
      case 'CMD':
        stage.cmd = execForm(args);
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = args;
        break;
      case 'USER':
      case 'EXPOSE':
      case 'VOLUME':
        notRun.push(`${op} ${args}`);
        break;
      default:
        throw new Error(`docker-replay: ${op} is not replayed; teach this script`);
    }
  }
  const last = stages[stages.length - 1];
  if (!last.cmd) throw new Error('docker-replay: the last stage has no CMD');
  if (!last.healthcheck) throw new Error('docker-replay: the last stage has no HEALTHCHECK');
  if (planOnly) {
    log(`plan: ${stages.length} stages, every COPY source present, CMD ${JSON.stringify(last.cmd)}, HEALTHCHECK ${JSON.stringify(last.healthcheck.cmd)}`);
    return;
  }

  // Start the image's CMD as the image would, on a free port instead of its PORT.
  const port = await freePort();
  const env = { ...process.env, ...last.env, PORT: String(port), MQTT_PORT: '0' };
  for (const [k, v] of Object.entries(last.env)) if (v.startsWith('/')) env[k] = inStage(last, v);
  for (const k of Object.keys(last.env)) if (env[k].startsWith('/')) mkdirSync(env[k], { recursive: true });
  const cwd = inStage(last, last.workdir);
  log(`CMD ${JSON.stringify(last.cmd)} (PORT=${port}, DATA_DIR=${env.DATA_DIR})`);
  const server = spawn(last.cmd[0], last.cmd.slice(1), { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = null;
  server.on('exit', (code, signal) => (exited = { code, signal }));

  const t0 = Date.now();
  const check = last.healthcheck;
  let healthy = false;
  while (!healthy && exited === null && Date.now() - t0 < check.startMs + 3 * check.intervalMs) {
    const r = spawnSync(check.cmd[0], check.cmd.slice(1), { cwd, env, timeout: check.timeoutMs, encoding: 'utf8' });
    healthy = r.status === 0;
    if (!healthy) await sleep(Math.min(check.intervalMs, 1000));
  }
  if (!healthy) {
    server.kill('SIGKILL');
    throw new Error(`docker-replay: HEALTHCHECK ${JSON.stringify(check.cmd)} never passed${exited ? ` (the server exited: ${JSON.stringify(exited)})` : ''}`);
  }
  log(`HEALTHCHECK ${JSON.stringify(check.cmd)}: healthy ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  const ready = spawnSync('node', ['scripts/healthcheck.js', '/readyz'], { cwd, env, encoding: 'utf8' });
  log(`node scripts/healthcheck.js /readyz (what docker-compose.yml waits on): exit ${ready.status}`);
  if (ready.status !== 0) throw new Error('docker-replay: /readyz did not answer 200');

  const signal = last.stopSignal ?? 'SIGTERM';
  server.kill(signal);
  for (let i = 0; i < 100 && exited === null; i++) await sleep(100);
  if (exited === null) {
    server.kill('SIGKILL');
    throw new Error(`docker-replay: the server did not exit within 10 s of ${signal}`);
  }
  if (exited.code !== 0) throw new Error(`docker-replay: the server exited with ${JSON.stringify(exited)} on ${signal}`);
  log(`${signal}: exited 0`);
  log(`image size stand-in: ${du(inStage(last, '/'))} in the last stage's folder (${base})`);
  log('not replayed:');
  for (const n of notRun) log(`  - ${n}`);
  if (process.argv.includes('--keep')) log(`kept ${base}`);
  else rmSync(base, { recursive: true, force: true });
}

/** Human size of a folder, from du. */
function du(path) {
  const r = spawnSync('du', ['-sh', path], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\t')[0] : '?';
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});

/**
 * The Dockerfile names files by path (COPY, the HEALTHCHECK's script): a renamed or new
 * build script the image forgets breaks only `docker build`, which no test here runs. The
 * replay's plan reads the Dockerfile as Docker would and checks every source is in the
 * build context (scripts/docker-replay.js without --plan replays it all; see README).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..');
const plan = (...args: string[]) => spawnSync(process.execPath, ['scripts/docker-replay.js', '--plan', ...args], { cwd: repo, encoding: 'utf8' });

test('every file the Dockerfile copies exists, and it has a HEALTHCHECK and a CMD', () => {
  const r = plan();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/HEALTHCHECK \["node","scripts\/healthcheck.js","\/healthz"\]/);
});

test('a Dockerfile that copies a missing file, or has no HEALTHCHECK, is refused', () => {
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'dockerfile-'));
  writeFileSync(join(dir, 'missing'), dockerfile.replace('scripts/build.js', 'scripts/no-such-build.js'));
  expect(plan(`--file=${join(dir, 'missing')}`)).toMatchObject({ status: 1, stderr: expect.stringMatching(/COPY scripts\/no-such-build.js: not in the build context/) });
  writeFileSync(join(dir, 'unchecked'), dockerfile.replace(/^HEALTHCHECK .*$/m, ''));
  expect(plan(`--file=${join(dir, 'unchecked')}`)).toMatchObject({ status: 1, stderr: expect.stringMatching(/no HEALTHCHECK/) });
});

/**
 * The README's curl quickstart, run as written (bash and curl against a started server),
 * twice: a newcomer who runs it again must get the same conversation and an acknowledged
 * retry, not a 409 and `TOKEN=undefined`.
 */
import { spawn } from 'node:child_process';
import { blocksAfter, readDoc } from './markdown';
import { startTestServer, stopTestServer, type TestServer } from '../e2e/harness';

const readme = readDoc('README.md');
const [script, firstShown, againShown] = blocksAfter(readme, 'A first conversation with curl');

function run(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stdout, stderr }));
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => stopTestServer(server));

test('the README shows the script and both outputs', () => {
  expect(script.lang).toBe('sh');
  expect(script.code).toContain('http://localhost:8080/api/v1');
  expect([firstShown.lang, againShown.lang]).toEqual(['json', 'json']);
});

test('the quickstart runs twice and prints what the README shows', async () => {
  const code = script.code.replace('http://localhost:8080', server.url);
  const first = await run(code);
  expect(first.stderr).toBe('');
  const second = await run(code);
  expect(second.stderr).toBe('');
  expect([first.code, second.code]).toEqual([0, 0]);

  const ack1 = JSON.parse(first.stdout);
  const ack2 = JSON.parse(second.stdout);
  const shown1 = JSON.parse(firstShown.code);
  const shown2 = JSON.parse(againShown.code);
  // Same fields as shown, the same values where the README's cannot differ.
  expect(Object.keys(ack1)).toEqual(Object.keys(shown1));
  expect(Object.keys(ack2)).toEqual(Object.keys(shown2));
  expect(ack1).toMatchObject({ client_msg_id: shown1.client_msg_id, seq: shown1.seq });
  expect(ack1.conv_id).toMatch(/^c_/);
  // The second run signed in, found the same direct conversation and was deduplicated.
  expect(ack2).toEqual({ ...ack1, duplicate: true });
  expect(shown2.duplicate).toBe(true);
}, 30_000);

/**
 * Forces a full garbage collection in the server under test through the V8 inspector
 * (the server is started with --inspect on a loopback port for the density scenario).
 * This keeps bench code out of the server's process: nothing is preloaded, nothing in
 * src/ changes, and the before/after memory readings both follow a full GC.
 */
import WebSocket from 'ws';

export async function collectGarbage(inspectPort: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${inspectPort}/json/list`);
  const targets = (await res.json()) as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error('inspector: no debugger target');
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    // Twice: the first pass can leave garbage that only finalizers released.
    for (const id of [1, 2]) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('inspector: collectGarbage timed out')), 30_000);
        ws.on('message', function onReply(data: Buffer) {
          if ((JSON.parse(data.toString()) as { id?: number }).id !== id) return;
          clearTimeout(timer);
          ws.off('message', onReply);
          resolve();
        });
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    ws.close();
  }
}

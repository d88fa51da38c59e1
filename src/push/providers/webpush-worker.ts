/**
 * The Web Push sends of the shard, on a worker thread of their own (webpush-thread.ts
 * starts it): each push is an ECDH key pair, a key derivation and an AES-GCM seal, plus
 * the HTTPS request, about a millisecond of CPU. A group message to 250 offline members
 * is a quarter of a second of it, which the event loop that sequences and delivers
 * messages must never spend. The thread also runs at a lower priority (nice 10, per thread
 * on Linux), so on a busy machine the event loop's messages go first and the pushes take
 * what is left; where that is refused (not Linux, no permission) it runs at normal priority.
 */
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { WebPushTarget } from './types';
import { WebPushProvider, type WebPushProviderOptions } from './webpush';
import type { ToWorker } from './webpush-thread';

const WORKER_NICE = 10;
try {
  os.setPriority(WORKER_NICE);
} catch {
  // Not permitted or not supported: the sends run at the event loop's priority.
}

const port = parentPort;
if (port === null) throw new Error('webpush-worker: must run as a worker thread');
const provider = new WebPushProvider(workerData as WebPushProviderOptions);

port.on('message', (msg: ToWorker) => {
  if (msg.op === 'close') {
    void provider.close().then(() => port.postMessage({ op: 'closed' }));
    return;
  }
  void provider.send(msg.target as WebPushTarget, msg.notification, msg.opts).then((result) => port.postMessage({ op: 'result', id: msg.id, result }));
});

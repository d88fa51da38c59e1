/**
 * Worker thread body: the only connection that writes the embedded database. The event
 * loop hands it every write (group commits, markers, seq reservations, users and
 * conversations) so commits and their WAL I/O run beside the loop instead of on it.
 * Calls are served strictly in arrival order, one at a time, which keeps the store's
 * "one call, one transaction" rule and the commit queue's ordering.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ProtocolError } from '../protocol';
import { SqliteSequencer } from '../sequencer';
import { SqliteStore, leaveCheckpointsToWorker, openSqliteDatabase } from '../store';
import type { WireError, WriteRequest, WriteResponse, WriterData } from './calls';

const data = workerData as WriterData;
const db = openSqliteDatabase(data.file, { synchronous: data.synchronous });
if (data.backgroundCheckpoints) leaveCheckpointsToWorker(db);
const store = new SqliteStore(db);
const sequencer = new SqliteSequencer(db);

async function serve(req: WriteRequest): Promise<unknown> {
  const a = JSON.parse(req.args) as unknown[];
  switch (req.method) {
    case 'createUser':
      return store.createUser(a[0] as Parameters<SqliteStore['createUser']>[0]);
    case 'updateUserSettings':
      return store.updateUserSettings(a[0] as string, a[1] as Parameters<SqliteStore['updateUserSettings']>[1]);
    case 'updateDisplayName':
      return store.updateDisplayName(a[0] as string, a[1] as string);
    case 'revokeTokens':
      return store.revokeTokens(a[0] as string);
    case 'revokeDevice':
      return store.revokeDevice(a[0] as string, a[1] as string, a[2] as number);
    case 'deleteUser':
      return store.deleteUser(a[0] as string, a[1] as number);
    case 'createConversation':
      return store.createConversation(a[0] as Parameters<SqliteStore['createConversation']>[0]);
    case 'appendEvents':
      return store.appendEvents(a[0] as Parameters<SqliteStore['appendEvents']>[0]);
    case 'saveMarkers':
      return store.saveMarkers(a[0] as Parameters<SqliteStore['saveMarkers']>[0]);
    case 'setMute':
      return store.setMute(a[0] as string, a[1] as string, a[2] as number | null);
    case 'createAttachment':
      return store.createAttachment(a[0] as Parameters<SqliteStore['createAttachment']>[0]);
    case 'completeAttachment':
      return store.completeAttachment(a[0] as string, a[1] as string, a[2] as Parameters<SqliteStore['completeAttachment']>[2]);
    case 'updateAttachmentMeta':
      return store.updateAttachmentMeta(a[0] as string, a[1] as Parameters<SqliteStore['updateAttachmentMeta']>[1]);
    case 'deleteAttachments':
      return store.deleteAttachments(a[0] as string[]);
    case 'tryRefBlob':
      return store.tryRefBlob(a[0] as string);
    case 'unrefBlob':
      return store.unrefBlob(a[0] as string);
    case 'claimBlob':
      return store.claimBlob(a[0] as string, a[1] as number, a[2] as number | null);
    case 'dropBlob':
      return store.dropBlob(a[0] as string);
    case 'putPushRegistration':
      return store.putPushRegistration(a[0] as Parameters<SqliteStore['putPushRegistration']>[0]);
    case 'deletePushRegistration':
      return store.deletePushRegistration(a[0] as string, a[1] as string);
    case 'deletePushRegistrationIfTarget':
      return store.deletePushRegistrationIfTarget(a[0] as string, a[1] as string, a[2] as Parameters<SqliteStore['deletePushRegistrationIfTarget']>[2]);
    case 'addPushDeadLetter':
      return store.addPushDeadLetter(a[0] as Parameters<SqliteStore['addPushDeadLetter']>[0], a[1] as number);
    case 'reserve':
      return sequencer.reserve(a[0] as string, a[1] as number);
  }
}

function toWire(err: unknown): WireError {
  if (err instanceof ProtocolError) return { kind: 'protocol', code: err.code, message: err.message };
  const code = (err as { code?: unknown } | null)?.code;
  return { kind: 'error', message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : null };
}

const port = parentPort;
if (port === null) throw new Error('writer-worker: not running as a worker thread');

port.on('message', (msg: WriteRequest | 'stop') => {
  if (msg === 'stop') {
    void sequencer.close().then(() => store.close()).then(() => port.postMessage('stopped'));
    return;
  }
  // Every store call runs synchronously inside its promise, so awaiting one before the
  // next message is read is implicit: calls never interleave.
  serve(msg).then(
    (value) => port.postMessage({ id: msg.id, ok: true, value: value === undefined ? undefined : JSON.stringify(value) } satisfies WriteResponse),
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: toWire(err) } satisfies WriteResponse),
  );
});

port.postMessage('ready');

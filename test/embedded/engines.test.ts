/**
 * The embedded engines as the server opens them, in both write modes. The writer-thread
 * mode runs the Store and Sequencer contracts unchanged: a write answered by the thread
 * must be visible to the next read on the loop's connection, and errors must keep their
 * class and code across the thread. (npm test builds dist first, where the worker lives.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedEngines, type EmbeddedEngines } from '../../src/embedded';
import { ProtocolError } from '../../src/protocol';
import { runStoreContract } from '../store/contract';
import { runSequencerContract } from '../sequencer/contract';

function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engines-test-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function close(e: EmbeddedEngines): Promise<void> {
  await e.sequencer.close();
  await e.checkpointer?.stop();
  await e.store.close();
}

runStoreContract('sqlite, writer thread', async () => {
  const { dir, remove } = tempDir();
  const engines = await openEmbeddedEngines({ file: path.join(dir, 'chat.db'), synchronous: 'normal', writerThread: true });
  expect(engines.writerThread).toBe(true);
  return {
    store: engines.store,
    cleanup: async () => {
      await close(engines);
      remove();
    },
  };
});

runSequencerContract('sqlite, writer thread', async () => {
  const { dir, remove } = tempDir();
  const opened: EmbeddedEngines[] = [];
  return {
    // Each instance is a whole set of engines on the one file, as two shard processes would be.
    open: async () => {
      const engines = await openEmbeddedEngines({ file: path.join(dir, 'chat.db'), synchronous: 'normal', writerThread: true });
      opened.push(engines);
      return engines.sequencer;
    },
    cleanup: async () => {
      for (const e of opened) await close(e);
      remove();
    },
  };
});

describe('embedded engines', () => {
  it('keep writing on the loop unless the writer thread is asked for', async () => {
    const { dir, remove } = tempDir();
    const engines = await openEmbeddedEngines({ file: path.join(dir, 'chat.db'), synchronous: 'normal', writerThread: false });
    expect(engines.writerThread).toBe(false);
    await close(engines);
    remove();
  });

  it('carry ProtocolError codes and SQLite error codes across the thread, and stop cleanly', async () => {
    const { dir, remove } = tempDir();
    const engines = await openEmbeddedEngines({ file: path.join(dir, 'chat.db'), synchronous: 'normal', writerThread: true });
    const user = { user_id: 'u_1', username: 'ann', display_name: 'Ann', password_hash: 'x', created_at: 1 };
    await engines.store.createUser(user);
    const taken = await engines.store.createUser({ ...user, user_id: 'u_2' }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(ProtocolError);
    expect(taken).toMatchObject({ code: 'conflict', message: 'username taken' });
    // Read on the loop's connection right after the thread answered.
    expect((await engines.store.getUserByUsername('ANN'))?.user_id).toBe('u_1');
    const badCount = await engines.sequencer.reserve('c_1', 0).catch((e: unknown) => e);
    expect(badCount).toBeInstanceOf(Error);
    expect(String(badCount)).toMatch(/positive integer/);
    await close(engines);
    // After stop, writes fail fast instead of hanging.
    await expect(engines.store.createUser({ ...user, user_id: 'u_3', username: 'bob' })).rejects.toThrow(/stopped/);
    remove();
  });

  it('answer writes in the order they were sent', async () => {
    const { dir, remove } = tempDir();
    const engines = await openEmbeddedEngines({ file: path.join(dir, 'chat.db'), synchronous: 'normal', writerThread: true });
    const ranges = await Promise.all(Array.from({ length: 50 }, () => engines.sequencer.reserve('c_order', 2)));
    expect(ranges.map((r) => r.start)).toEqual(Array.from({ length: 50 }, (_, i) => 1 + 2 * i));
    await close(engines);
    remove();
  });

  it('refuse to start when the database cannot be opened', async () => {
    const { dir, remove } = tempDir();
    const file = path.join(dir, 'no-such-dir', 'chat.db'); // SQLite creates files, never folders
    await expect(openEmbeddedEngines({ file, synchronous: 'normal', writerThread: true })).rejects.toThrow(/directory does not exist/);
    remove();
  });
});

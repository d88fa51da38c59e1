/**
 * A load generator process (forked by the orchestrator, never inside the server under
 * test). Holds up to a few thousand client connections and runs one command at a time:
 * connect, traffic, close. Reports over IPC; exits when the orchestrator goes away.
 */
import { ClientSet, closesAfterOpen, pingsReceived } from './lg-clients';
import { TrafficRun } from './lg-traffic';
import type { FromLoadgen, ToLoadgen } from './ipc';

const set = new ClientSet();

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function reply(msg: FromLoadgen): void {
  process.send?.(msg);
}

async function handle(msg: ToLoadgen): Promise<void> {
  switch (msg.op) {
    case 'connect': {
      const result = await set.connect(msg, (done, total) => reply({ op: 'progress', done, total }));
      reply({ op: 'connected', result });
      return;
    }
    case 'traffic':
      reply({ op: 'traffic', result: await new TrafficRun(set, msg.plan).run() });
      return;
    case 'stats':
      reply({ op: 'stats', pings: pingsReceived(), open: set.openCount(), closes: closesAfterOpen(), cpuUs: cpuUs(), rssBytes: process.memoryUsage().rss });
      return;
    case 'close':
      await set.closeAll();
      reply({ op: 'closed' });
      return;
    case 'exit':
      process.exit(0);
  }
}

process.on('message', (msg: ToLoadgen) => {
  handle(msg).catch((err: unknown) => {
    reply({ op: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});
// The orchestrator died or finished: nothing left to do.
process.on('disconnect', () => process.exit(0));
reply({ op: 'ready' });

/**
 * Child process for the RedisJobs crash test: registers a handler on the queue named by argv
 * that prints "started <id> <attempt>" and never finishes, so the parent can SIGKILL this
 * process mid-run, as a crashing shard would die.
 */
import { RedisJobs } from '../../src/jobs';

const [url, prefix, queue, stalledMs] = process.argv.slice(2);
const jobs = new RedisJobs({ url, prefix, stalledMs: Number(stalledMs), connectionName: 'jobs-child' });
jobs.register(queue, async (_data, job) => {
  process.stdout.write(`started ${job.id} ${job.attempt}\n`);
  await new Promise(() => {});
});
process.stdout.write('ready\n');

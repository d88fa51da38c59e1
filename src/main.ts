/**
 * Process entry: read configuration once from the environment, start the shard, and
 * stop it gracefully on SIGTERM/SIGINT (pending writes flushed, sockets closed with 1012).
 */
import { ConfigError, loadConfig } from './config';
import { startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = await startServer(config);
  const shutdown = (signal: string): void => {
    server.obs.logger.info('signal received', { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.obs.logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

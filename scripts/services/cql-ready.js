#!/usr/bin/env node
// One readiness probe for Cassandra: connects to HOST:PORT (default 127.0.0.1:9042), runs
// `SELECT release_version FROM system.local`, prints the version and exits 0; on any failure
// within TIMEOUT_MS (default 5000) prints the reason to stderr and exits 1. cassandra.sh
// calls it in a loop while the node starts, and once for `check`.
'use strict';

const [hostPort = '127.0.0.1:9042', timeoutArg = '5000'] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg);

let cassandra;
try {
  cassandra = require('cassandra-driver');
} catch {
  console.error('cassandra-driver is not installed: run `npm install` (or `npm ci`) in the repository first');
  process.exit(2);
}

const client = new cassandra.Client({
  contactPoints: [hostPort],
  localDataCenter: 'datacenter1', // SimpleSnitch names its only data center so
  socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
  // One attempt per probe: the caller decides when to try again.
  policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60_000) },
});

const timer = setTimeout(() => {
  console.error(`no answer within ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs + 1000);

client
  .execute('SELECT release_version FROM system.local')
  .then((result) => {
    console.log(result.first().release_version);
    return 0;
  })
  .catch((error) => {
    console.error(String(error.message).split('\n')[0]);
    return 1;
  })
  .then(async (code) => {
    clearTimeout(timer);
    await client.shutdown().catch(() => {});
    process.exit(code);
  });

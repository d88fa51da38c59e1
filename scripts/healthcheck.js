#!/usr/bin/env node
// Container health check without curl (the slim image has none): asks this server for a
// path and exits 0 when it answers 2xx within 3 s, 1 otherwise.
//
//   node scripts/healthcheck.js           /healthz: the process answers (liveness)
//   node scripts/healthcheck.js /readyz   the engines it needs answer too (readiness)
//
// It reads PORT and HOST as the server does. A wildcard HOST is asked on loopback.
'use strict';
const path = process.argv[2] ?? '/healthz';
const port = process.env.PORT || '8080';
const configured = process.env.HOST || '0.0.0.0';
const host = configured === '0.0.0.0' ? '127.0.0.1' : configured === '::' ? '::1' : configured;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;

fetch(url, { signal: AbortSignal.timeout(3000) }).then(
  (res) => {
    if (res.ok) process.exit(0);
    console.error(`${url}: HTTP ${res.status}`);
    process.exit(1);
  },
  (err) => {
    console.error(`${url}: ${err.cause?.message ?? err.message}`);
    process.exit(1);
  },
);

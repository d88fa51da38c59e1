#!/usr/bin/env node
// One readiness probe for S3Proxy: sends ListBuckets to ENDPOINT (default http://127.0.0.1:9000),
// signed with AWS Signature V4 by IDENTITY and CREDENTIAL, and exits 0 printing how many buckets
// the answer lists; on a refused connection, a timeout (TIMEOUT_MS, default 5000), an S3 error or
// an answer that is not S3 it prints the reason to stderr and exits 1. Only node's own modules:
// it runs before `npm ci` too. s3proxy.sh calls it in a loop while the JVM starts, and for `check`.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

const [endpoint = 'http://127.0.0.1:9000', identity, credential, timeoutArg = '5000'] = process.argv.slice(2);
if (!identity || !credential) {
  console.error('usage: s3-ready.js ENDPOINT IDENTITY CREDENTIAL [TIMEOUT_MS]');
  process.exit(2);
}
const timeoutMs = Number(timeoutArg);
const region = 'us-east-1'; // S3Proxy accepts any region in the scope; clients use this one.

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// Signature V4 of `GET /` with an empty body (the AWS documentation's "header-based auth").
function signedHeaders(url) {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''); // 20250101T000000Z
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256('');
  const headers = { host: url.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    'GET',
    '/',
    '',
    ...names.map((name) => `${name}:${headers[name]}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${credential}`, day);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${identity}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

function finish(code, message) {
  (code === 0 ? console.log : console.error)(message);
  process.exit(code);
}

const url = new URL('/', endpoint);
const request = http.get(url, { headers: signedHeaders(url), timeout: timeoutMs }, (response) => {
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk) => (body += chunk));
  response.on('end', () => {
    if (response.statusCode === 200 && body.includes('<ListAllMyBucketsResult')) {
      const count = (body.match(/<Bucket>/g) || []).length;
      finish(0, `${count} bucket${count === 1 ? '' : 's'}`);
    }
    const code = /<Code>([^<]*)<\/Code>/.exec(body);
    if (code) finish(1, `S3 error ${code[1]} (HTTP ${response.statusCode})`);
    finish(1, `HTTP ${response.statusCode} that is not an S3 answer: ${body.slice(0, 80).replace(/\s+/g, ' ')}`);
  });
});
request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
request.on('error', (error) => finish(1, error.message));

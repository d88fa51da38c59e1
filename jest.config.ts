import type { Config } from 'jest';

// Type checking happens once in `npm run typecheck`; ts-jest only transpiles, which
// keeps the suite fast on a two-core machine.
const transform: Config['transform'] = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** The protocol suites that run again with every raw client (and the SDK) on long-poll, then on MQTT. */
const carrierSuites = ['messaging', 'realtime', 'sync', 'protocol-errors', 'protocol-limits', 'rich-*', 'sdk', 'idempotency', 'hardening', 'accounts'];

const config: Config = {
  testTimeout: 20000,
  // Client sockets closed by the server linger in ws's 30 s close timer; don't wait on them.
  forceExit: true,
  projects: [
    {
      // Everything, over WebSocket (test/browser included once it exists).
      displayName: 'default',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      transform,
      testPathIgnorePatterns: ['/node_modules/', '/test/integration/'],
    },
    {
      // The same wire protocol over long-poll: test/e2e/harness.ts reads E2E_TRANSPORT.
      displayName: 'e2e-longpoll',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/e2e'],
      testMatch: carrierSuites.map((name) => `<rootDir>/test/e2e/${name}.test.ts`),
      setupFiles: ['<rootDir>/test/e2e/transport-longpoll.ts'],
      transform,
    },
    {
      // The same wire protocol over MQTT, driven by the stock mqtt client (E2E_MQTT_VERSION=4: 3.1.1).
      displayName: 'e2e-mqtt',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/e2e'],
      testMatch: carrierSuites.map((name) => `<rootDir>/test/e2e/${name}.test.ts`),
      setupFiles: ['<rootDir>/test/e2e/transport-mqtt.ts'],
      transform,
    },
  ],
};

export default config;

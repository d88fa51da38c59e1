import type { Config } from 'jest';

// Type checking happens once in `npm run typecheck`; ts-jest only transpiles, which
// keeps the suite fast on a two-core machine.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testPathIgnorePatterns: ['/node_modules/', '/test/integration/'],
  testTimeout: 20000,
  // Client sockets closed by the server linger in ws's 30 s close timer; don't wait on them.
  forceExit: true,
};

export default config;

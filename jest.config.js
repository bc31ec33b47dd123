/** Jest in native ESM mode (package.json runs it with --experimental-vm-modules). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: false }],
    '/node_modules/content-disposition/.+\\.js$': '<rootDir>/test/setup/esm-to-cjs.transformer.mjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // Unit specs beside what they test (the fakes' own included), the console's in test/web (web/ has no
  // jest types); e2e specs, which boot the app, in test/e2e.
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/test/fakes/**/*.spec.ts',
    '<rootDir>/test/web/**/*.spec.ts',
    '<rootDir>/test/e2e/**/*.e2e-spec.ts',
  ],
  globalSetup: '<rootDir>/test/setup/global-setup.mjs',
  globalTeardown: '<rootDir>/test/setup/global-teardown.mjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};

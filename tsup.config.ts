import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      'collect/event-log/worker': 'src/collect/event-log/worker.ts',
    },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: true,
    shims: true,
    // p-queue is ESM-only: bundle it (and its p-timeout) so that require('sparkpilot') works on every Node 20.
    noExternal: ['p-queue', 'p-timeout'],
  },
  {
    entry: { cli: 'src/api/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    noExternal: ['p-queue', 'p-timeout'],
  },
]);

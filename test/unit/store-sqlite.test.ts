import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import {
  describeRepositoryConformance,
  describeRunRepositoryConformance,
  describeTuningRepositoryConformance,
} from '../../src/testing/index.js';
import { incompleteThenComplete, sparkTestModels } from '../helpers/models.js';

const models = await sparkTestModels();
const pair = await incompleteThenComplete();
const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-sqlite-'));
let n = 0;

for (const [name, url] of [
  ['sqlite in memory', () => 'sqlite::memory:'],
  ['sqlite file', () => `sqlite:${join(dir, `store-${n++}.db`)}`],
] as const) {
  describeRepositoryConformance(name, {
    test: { describe, it, expect },
    models,
    incompleteThenComplete: pair,
    create: async () => {
      const store = await openStore(url(), { tablePrefix: 'sp_test_' });
      return { repository: store.applications, dispose: () => store.close() };
    },
  });

  describeRunRepositoryConformance(name, {
    test: { describe, it, expect },
    create: async () => {
      const store = await openStore(url(), { tablePrefix: 'sp_test_' });
      return { runs: store.runs, store, dispose: () => store.close() };
    },
  });

  describeTuningRepositoryConformance(name, {
    test: { describe, it, expect },
    models,
    create: async () => {
      const store = await openStore(url(), { tablePrefix: 'sp_test_' });
      return { repositories: store, dispose: () => store.close() };
    },
  });
}

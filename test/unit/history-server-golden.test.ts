import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApplicationAttemptModel, eventLogCollector } from '../../src/index.js';
import { compareRest } from '../helpers/compare.js';
import { sharedData } from '../helpers/data.js';
import { NotReproduced, rest } from '../helpers/rest.js';

/** Map of expectation file -> REST path, read from the data manifest. */
function expectations(): { file: string; url: string }[] {
  const manifest = readFileSync(sharedData('MANIFEST.md'), 'utf8');
  const rows: { file: string; url: string }[] = [];
  for (const m of manifest.matchAll(/^\| `([^`]+_expectation\.json)` \| [^|]* \| `([^`]+)` \|$/gm)) {
    rows.push({ file: m[1]!, url: m[2]! });
  }
  return rows;
}

/**
 * Fields the History Server computes that sparkpilot does not reproduce, with the reason (also in
 * docs/history-server-parity.md).
 */
const NOT_REPRODUCED_FIELDS = new Set([
  // Per-task lists: sparkpilot keeps aggregates and sketches, never one record per task.
  'tasks',
  // Blanked by Spark when it regenerates the golden files.
  'lastUpdated',
  'lastUpdatedEpoch',
]);

/**
 * Fields sparkpilot adds that the History Server does not return at that path. `logSourceName` and
 * `logSourceFullPath` came with Spark 4.2's History Server, after these golden files were last written
 * (test/unit/history-server-live.test.ts compares them with a 4.3 History Server's).
 */
const ADDED_FIELDS = new Set(['parentIds', 'jobIds', 'sqlExecutionId', 'logSourceName', 'logSourceFullPath']);

describe("History Server parity on Spark's own golden REST responses", () => {
  let models: ApplicationAttemptModel[];
  beforeAll(async () => {
    const result = await eventLogCollector({ workers: 1 }).collect(sharedData('spark-events'));
    expect(result.failures).toEqual([]);
    models = result.applications;
  });

  const rows = expectations();
  it('reads the expectation map from the manifest', () => {
    expect(rows.length).toBe(readdirSync(sharedData('history-server-expectations')).length);
  });

  for (const { file, url } of rows) {
    it(`${file} (${url})`, (ctx) => {
      const expected = JSON.parse(readFileSync(sharedData(`history-server-expectations/${file}`), 'utf8'));
      let actual: unknown;
      try {
        actual = rest(models, url);
      } catch (err) {
        if (err instanceof NotReproduced) {
          ctx.skip();
          return;
        }
        throw err;
      }
      const diffs: string[] = [];
      compareRest(actual, expected, '$', diffs, { ignore: NOT_REPRODUCED_FIELDS, added: ADDED_FIELDS });
      expect(diffs).toEqual([]);
    });
  }
});

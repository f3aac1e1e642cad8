import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApplicationAttemptModel, eventLogCollector } from '../../src/index.js';
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

/** Fields sparkpilot adds that the History Server does not return at that path. */
const ADDED_FIELDS = new Set(['parentIds', 'jobIds', 'sqlExecutionId']);

function compare(actual: unknown, expected: unknown, path: string, diffs: string[]): void {
  if (diffs.length > 20) return;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      diffs.push(
        `${path}: expected array of ${expected.length}, got ${Array.isArray(actual) ? actual.length : JSON.stringify(actual)?.slice(0, 200)}`,
      );
      return;
    }
    for (const [i, e] of expected.entries()) compare(actual[i], e, `${path}[${i}]`, diffs);
    return;
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') {
      diffs.push(`${path}: expected object, got ${JSON.stringify(actual)}`);
      return;
    }
    const a = actual as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) {
      if (NOT_REPRODUCED_FIELDS.has(k)) continue;
      if (!(k in a)) {
        diffs.push(`${path}.${k}: missing (expected ${JSON.stringify(v)?.slice(0, 100)})`);
        continue;
      }
      compare(a[k], v, `${path}.${k}`, diffs);
    }
    for (const k of Object.keys(a)) {
      if (
        !(k in (expected as object)) &&
        !ADDED_FIELDS.has(k) &&
        a[k] !== undefined &&
        !(Array.isArray(a[k]) && (a[k] as unknown[]).length === 0)
      ) {
        if (
          ![
            'speculationSummary',
            'description',
            'peakMemoryMetrics',
            'peakExecutorMetrics',
            'memoryMetrics',
            'taskMetricsDistributions',
          ].includes(k)
        ) {
          diffs.push(
            `${path}.${k}: not in the History Server's answer (got ${JSON.stringify(a[k])?.slice(0, 100)})`,
          );
        }
      }
    }
    return;
  }
  if (actual !== expected)
    diffs.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

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
      compare(actual, expected, '$', diffs);
      expect(diffs).toEqual([]);
    });
  }
});

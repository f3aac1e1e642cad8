import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverLogs } from '../../src/collect/event-log/discover.js';
import { parseLogUnit } from '../../src/collect/event-log/parse.js';
import { decodeFile, eventLogCollector, eventLogCollectorOptionsSchema } from '../../src/index.js';
import type { ApplicationAttemptModel } from '../../src/model/attempt.js';
import { sharedData } from '../helpers/data.js';
import { readFromAnywhere } from '../helpers/models.js';

// A real 40 MB log (NDS q66 on YARN, Spark 3.1.3), zstd-compressed in ../shared/data. Written out plain, it
// is read in 4 MiB async reads on the calling thread and in 1 MiB blocking reads on a worker thread: both
// cut lines between reads, and must give what the zstd decoder's path gives.
const ZSTD = sharedData('more-events/spark-rapids-tools/spark-events-profiling/nds_q66_gpu.zstd');

/** The model without what names the file it came from, key order included in the comparison. */
function comparable(m: ApplicationAttemptModel): string {
  return JSON.stringify(readFromAnywhere(m));
}

describe('reading an uncompressed log in chunks', () => {
  let dir: string;
  let plain: string;
  let fromZstd: ApplicationAttemptModel;
  let lines: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sparkpilot-read-paths-'));
    plain = join(dir, 'nds_q66_gpu');
    const chunks: Buffer[] = [];
    for await (const c of decodeFile(ZSTD, 'zstd')) chunks.push(Buffer.from(c));
    const bytes = Buffer.concat(chunks);
    writeFileSync(plain, bytes);
    // Counted apart from the parser: every non-empty line is one event.
    lines = bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l.length > 0).length;
    const r = await eventLogCollector({ workers: 1 }).collect(ZSTD);
    expect(r.failures).toEqual([]);
    fromZstd = r.applications[0]!;
    expect(fromZstd.stats.events).toBe(lines);
    expect(fromZstd.warnings).toEqual([]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same model in async reads larger than a read of the decoders', async () => {
    const r = await eventLogCollector({ workers: 1 }).collect(plain);
    expect(r.failures).toEqual([]);
    const m = r.applications[0]!;
    // Several reads, so lines were cut between them.
    expect(m.stats.bytes).toBe(39_586_408);
    expect(m.stats.bytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(m.stats.tasks).toBeGreaterThan(10_000);
    expect(m.stats.events).toBe(lines);
    expect(m.warnings).toEqual([]);
    expect(comparable(m)).toBe(comparable(fromZstd));
  });

  it('gives the same model in blocking reads, as a worker thread reads', async () => {
    const { units } = await discoverLogs([plain]);
    const { maxLineBytes, exactQuantileValues } = eventLogCollectorOptionsSchema.parse({});
    const m = await parseLogUnit(units[0]!, { maxLineBytes, exactQuantileValues, blockingReads: true });
    expect(m.stats.bytes).toBe(39_586_408);
    expect(m.stats.events).toBe(lines);
    expect(m.warnings).toEqual([]);
    expect(comparable(m)).toBe(comparable(fromZstd));
  });
});

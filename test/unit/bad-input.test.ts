import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFile, EventLogError, eventLogCollector } from '../../src/index.js';
import { fixture, sharedData } from '../helpers/data.js';
import { readFromAnywhere } from '../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const collector = eventLogCollector({ workers: 1 });
const realLog = sharedData('spark-events/local-1430917381534');
const realLines = readFileSync(realLog, 'utf8')
  .split('\n')
  .filter((l) => l.length > 0);

describe('bad input', () => {
  it('a binary file named on the command line fails alone, naming the file', async () => {
    const bin = join(dir, 'random.bin');
    writeFileSync(bin, randomBytes(200_000));
    const r = await collector.collect([bin, realLog]);
    expect(r.applications.map((a) => a.appId)).toEqual(['local-1430917381534']);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.error).toBeInstanceOf(EventLogError);
    expect(r.failures[0]!.error.code).toBe('SPARKPILOT_EVENTLOG_NOT_SPARK');
    expect(r.failures[0]!.error.message).toContain('random.bin');
  });

  it('a JSON file that is not an event log, and an empty file, are named as such', async () => {
    const empty = join(dir, 'empty-log');
    writeFileSync(empty, '');
    const r = await collector.collect([
      sharedData('history-server-expectations/one_app_json_expectation.json'),
      empty,
    ]);
    expect(r.failures.map((f) => f.error.code)).toEqual([
      'SPARKPILOT_EVENTLOG_NOT_SPARK',
      'SPARKPILOT_EVENTLOG_NOT_SPARK',
    ]);
    expect(r.failures[0]!.error.message).toMatch(/one_app_json_expectation\.json: not a Spark event log/);
    expect(r.failures[1]!.error.message).toMatch(/empty-log: the file is empty/);
  });

  it('a malformed line mid-file is a warning with its line number, and parsing goes on', async () => {
    const broken = join(dir, 'local-1430917381534-broken');
    const lines = [...realLines];
    const victim = lines.findIndex((l, i) => i > 50 && l.startsWith('{"Event":"SparkListenerTaskEnd"'));
    lines[victim] = lines[victim]!.slice(0, 100);
    writeFileSync(broken, `${lines.join('\n')}\n`);
    const [original] = (await collector.collect(realLog)).applications;
    const r = await collector.collect(broken);
    expect(r.failures).toEqual([]);
    const m = r.applications[0]!;
    expect(m.warnings.filter((w) => w.code === 'malformed-line')).toEqual([
      expect.objectContaining({ source: broken, line: victim + 1 }),
    ]);
    expect(m.stats.malformedLines).toBe(1);
    expect(m.stats.tasks).toBe(original!.stats.tasks - 1);
    expect(m.application.attempts[0]!.completed).toBe(true);
  });

  it('a log cut off mid-line (a crashed or running app) is read up to the cut and marked incomplete', async () => {
    const cut = join(dir, 'local-1430917381534-cut');
    const text = readFileSync(realLog);
    writeFileSync(cut, text.subarray(0, Math.floor(text.length * 0.6)));
    const r = await collector.collect(cut);
    const m = r.applications[0]!;
    expect(m.application.attempts[0]!.completed).toBe(false);
    expect(m.warnings.map((w) => w.code)).toEqual(
      expect.arrayContaining(['truncated-last-line', 'incomplete']),
    );
    expect(m.stats.tasks).toBeGreaterThan(0);
    expect(m.stats.malformedLines).toBe(0);
  });

  it('inside a folder, a stray non-log file is skipped with a warning and the logs are read', async () => {
    const folder = join(dir, 'mixed');
    mkdirSync(folder);
    copyFileSync(realLog, join(folder, 'local-1430917381534'));
    writeFileSync(join(folder, 'notes.bin'), randomBytes(1000));
    const r = await collector.collect(folder);
    expect(r.failures).toEqual([]);
    expect(r.applications).toHaveLength(1);
    expect(r.warnings.filter((w) => w.code === 'skipped-file').map((w) => w.source)).toEqual([
      join(folder, 'notes.bin'),
    ]);
  });

  it('a compressed log renamed without its codec extension is read as that log, with a warning', async () => {
    const named = fixture('spark-events/codec-lz4/local-1795266230587.lz4');
    const renamed = join(dir, 'local-1795266230587');
    copyFileSync(named, renamed);
    const [expected] = (await collector.collect(named)).applications;
    const r = await collector.collect(renamed);
    expect(r.failures).toEqual([]);
    const m = r.applications[0]!;
    expect(m.warnings).toEqual([
      expect.objectContaining({ code: 'codec', message: expect.stringContaining('decoding it as lz4') }),
    ]);
    expect(readFromAnywhere(m)).toEqual(readFromAnywhere(expected!));
  });

  it('a plain log read in many chunks gives the model of its compressed copy; a line past maxLineBytes is skipped', async () => {
    // A real 37 MB log (zstd in shared data), decompressed: lines cut by every read are carried over.
    const zstd = sharedData('more-events/spark-rapids-tools/spark-events-profiling/nds_q66_gpu.zstd');
    const plain = join(dir, 'nds_q66_gpu');
    const chunks: Buffer[] = [];
    for await (const c of decodeFile(zstd, 'zstd')) chunks.push(Buffer.from(c));
    writeFileSync(plain, Buffer.concat(chunks));
    const [fromZstd] = (await collector.collect(zstd)).applications;
    const [fromPlain] = (await collector.collect(plain)).applications;
    expect(readFromAnywhere(fromPlain!)).toEqual(readFromAnywhere(fromZstd!));
    expect(fromPlain!.warnings).toEqual(fromZstd!.warnings);
    expect(fromPlain!.stats.bytes).toBeGreaterThan(30_000_000);

    const [short] = (await eventLogCollector({ workers: 1, maxLineBytes: 1024 }).collect(plain)).applications;
    const skipped = short!.warnings.filter((w) => w.code === 'line-too-long');
    expect(skipped.length).toBeGreaterThan(0);
    expect(short!.stats.events + skipped.length).toBe(fromPlain!.stats.events);
    for (const w of skipped) expect(w.line).toBeGreaterThan(0);
  });

  it('aborting while a read waits (a pipe no one writes to yet) rejects with the reason at once', async () => {
    const fifo = join(dir, 'pipe-log');
    execFileSync('mkfifo', [fifo]);
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    // Aborted a while after the collection starts on the pipe (its first progress report), while the read
    // waits for a writer.
    const p = collector.collect(fifo, {
      signal: controller.signal,
      onProgress: () => {
        setTimeout(() => controller.abort(reason), 100);
      },
    });
    await expect(p).rejects.toBe(reason);
    // Let the read that still waits end: a writer that opens and closes the pipe.
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  });

  it('a missing path fails alone and names the path', async () => {
    const r = await collector.collect([join(dir, 'nope'), realLog]);
    expect(r.applications).toHaveLength(1);
    expect(r.failures[0]!.error.code).toBe('SPARKPILOT_EVENTLOG_NOT_FOUND');
    expect(r.failures[0]!.error.message).toContain(join(dir, 'nope'));
  });

  it('aborting stops a collection with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const p = collector.collect(sharedData('more-events'), {
      signal: controller.signal,
      onProgress: (pr) => {
        if (pr.done >= 2) controller.abort(reason);
      },
    });
    await expect(p).rejects.toBe(reason);
  });
});

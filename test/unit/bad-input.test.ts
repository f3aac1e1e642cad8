import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLogError, eventLogCollector } from '../../src/index.js';
import { sharedData } from '../helpers/data.js';

const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-bad-'));
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

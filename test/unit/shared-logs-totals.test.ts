import { describe, expect, it } from 'vitest';
import { type CodecName, codecFromFileName, decodeFile } from '../../src/collect/event-log/codecs/index.js';
import { type ApplicationAttemptModel, eventLogCollector, sparkVersionOf } from '../../src/index.js';
import { sharedData } from '../helpers/data.js';

interface Totals {
  tasks: number;
  executorRunTime: number;
  inputBytes: number;
  shuffleReadBytes: number;
  shuffleWriteBytes: number;
  memoryBytesSpilled: number;
  diskBytesSpilled: number;
}

/**
 * An independent count, written from the event-log format alone: every line parsed with JSON.parse, sums of
 * the task metrics of task ends that had a task start in a submitted stage attempt and did not end as
 * `Resubmitted` (the History Server's rule for what a stage's totals include).
 */
async function independentTotals(files: string[]): Promise<Totals> {
  const t: Totals = {
    tasks: 0,
    executorRunTime: 0,
    inputBytes: 0,
    shuffleReadBytes: 0,
    shuffleWriteBytes: 0,
    memoryBytesSpilled: 0,
    diskBytesSpilled: 0,
  };
  const started = new Set<number>();
  const submitted = new Set<string>();
  for (const file of files) {
    const codec = codecFromFileName(file) as CodecName;
    let text = '';
    const lines: string[] = [];
    for await (const chunk of decodeFile(file, codec)) {
      text += chunk.toString('utf8');
      const parts = text.split('\n');
      text = parts.pop()!;
      lines.push(...parts);
    }
    if (text) lines.push(text);
    for (const line of lines) {
      // biome-ignore lint/suspicious/noExplicitAny: an independent reading of raw events
      let e: any;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      const name = String(e.Event ?? '')
        .split('.')
        .pop();
      if (name === 'SparkListenerStageSubmitted')
        submitted.add(`${e['Stage Info']['Stage ID']}:${e['Stage Info']['Stage Attempt ID']}`);
      if (name === 'SparkListenerTaskStart') started.add(e['Task Info']['Task ID']);
      if (name !== 'SparkListenerTaskEnd') continue;
      t.tasks++;
      const m = e['Task Metrics'];
      if (!m || e['Task End Reason']?.Reason === 'Resubmitted') continue;
      if (
        !started.has(e['Task Info']['Task ID']) ||
        !submitted.has(`${e['Stage ID']}:${e['Stage Attempt ID']}`)
      )
        continue;
      started.delete(e['Task Info']['Task ID']);
      t.executorRunTime += m['Executor Run Time'] ?? 0;
      t.inputBytes += m['Input Metrics']?.['Bytes Read'] ?? 0;
      const sr = m['Shuffle Read Metrics'];
      t.shuffleReadBytes += (sr?.['Remote Bytes Read'] ?? 0) + (sr?.['Local Bytes Read'] ?? 0);
      t.shuffleWriteBytes += m['Shuffle Write Metrics']?.['Shuffle Bytes Written'] ?? 0;
      t.memoryBytesSpilled += m['Memory Bytes Spilled'] ?? 0;
      t.diskBytesSpilled += m['Disk Bytes Spilled'] ?? 0;
    }
  }
  return t;
}

function modelTotals(m: ApplicationAttemptModel): Totals {
  const sum = (f: (s: ApplicationAttemptModel['stages'][number]) => number) =>
    m.stages.reduce((a, s) => a + f(s), 0);
  return {
    tasks: m.stats.tasks,
    executorRunTime: sum((s) => s.executorRunTime),
    inputBytes: sum((s) => s.inputBytes),
    shuffleReadBytes: sum((s) => s.shuffleReadBytes),
    shuffleWriteBytes: sum((s) => s.shuffleWriteBytes),
    memoryBytesSpilled: sum((s) => s.memoryBytesSpilled),
    diskBytesSpilled: sum((s) => s.diskBytesSpilled),
  };
}

describe('every log in ../shared/data', async () => {
  const result = await eventLogCollector({ workers: 1 }).collect(sharedData());

  it('parses without a failure; non-log files in the folders are skipped with a warning', () => {
    expect(result.failures.map((f) => f.error.message)).toEqual([]);
    const skipped = result.warnings.filter((w) => w.code === 'skipped-file').map((w) => w.source);
    expect(skipped.length).toBe(60);
    expect(skipped.every((s) => s.includes('history-server-expectations'))).toBe(true);
  });

  it('reports what it skipped, with file and line', () => {
    const malformed = result.warnings.find((w) => w.code === 'malformed-line');
    expect(malformed?.source).toMatch(/malformed_json_eventlog\.zstd$/);
    expect(malformed?.line).toBe(4);
    const noId = result.warnings.find((w) => w.code === 'missing-app-id');
    expect(noId?.source).toMatch(/incorrect_app_status_eventlog\.zstd$/);
  });

  it('counts unknown events by name and skips them (vendor events, fully qualified names)', () => {
    const gpu = result.applications.find((a) => a.appId === 'app-20250305192829-0000')!;
    expect(gpu.stats.unknownEvents).toEqual({ SparkRapidsBuildInfoEvent: 1 });
    const known = result.applications.filter((a) => Object.keys(a.stats.unknownEvents).length === 0);
    expect(known.length).toBeGreaterThan(80);
  });

  it('keeps the Databricks SparkContext id and reads rolled and rolling layouts as one attempt', () => {
    const rolling = result.applications.filter(
      (a) => a.appId === 'local-1623876083964' && a.sources.length === 2,
    );
    expect(rolling.length).toBe(2);
    for (const r of rolling) expect(r.stats.tasks).toBe(2801);
    const dbc = result.applications.find((a) => a.appId === 'app-20240213185822-0000');
    expect(dbc?.sparkContextId).toBe('8880912756278443690');
    // Databricks writes no SparkListenerLogStart: the History Server's appSparkVersion is empty (a Spark 4.3
    // History Server serves "" for this log), and the version Databricks' metadata names is kept apart.
    expect(dbc?.application.attempts[0]?.appSparkVersion).toBe('');
    expect(dbc?.sparkVersion).toBe('3.3.0');
    expect(sparkVersionOf(dbc!)).toBe('3.3.0');
    // A model stored before `sparkVersion` existed held Databricks' version in `appSparkVersion`.
    const { sparkVersion: _v, ...stored } = dbc!;
    const old = {
      ...stored,
      application: {
        ...dbc!.application,
        attempts: [{ ...dbc!.application.attempts[0]!, appSparkVersion: '3.3.0' }],
      },
    };
    expect(sparkVersionOf(old)).toBe('3.3.0');
    expect(sparkVersionOf({ ...stored, application: dbc!.application })).toBe('');
    const legacy = result.applications.find((a) =>
      a.sources.some((s) => s.endsWith('legacy-dir-format/local-1426533911241/EVENT_LOG_1')),
    );
    expect(legacy?.stats.tasks).toBe(8);
    expect(legacy?.application.attempts[0]?.completed).toBe(true);
  });

  it('finds every application attempt', () => {
    // 18 + 4 + 4 Spark test logs (the legacy dir counts once), plus the other repositories' logs.
    expect(result.applications.length).toBeGreaterThanOrEqual(80);
    const ids = new Set(result.applications.map((a) => a.appId));
    for (const id of [
      'local-1426533911241',
      'application_1656321732247_0006',
      'spark-110be3a8424d4a2789cb88134418217b',
      'local-1623876083964',
      'app-20240213185822-0000',
    ]) {
      expect(ids.has(id), id).toBe(true);
    }
  });

  it('counts the same totals as an independent reading of each file', async () => {
    const mismatches: string[] = [];
    for (const app of result.applications) {
      if (app.sources.some((s) => s.includes('!'))) continue; // zip entries: checked in the zip test
      const expected = await independentTotals(app.sources);
      const actual = modelTotals(app);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches.push(`${app.sources.join(',')}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
      }
    }
    expect(mismatches).toEqual([]);
    const total = result.applications.reduce((a, m) => a + m.stats.tasks, 0);
    expect(total).toBeGreaterThan(30_000);
  });
});

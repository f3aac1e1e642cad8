import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskIdSet } from '../../src/collect/event-log/bitset.js';
import { codecFromFileName, decodeFile } from '../../src/collect/event-log/codecs/index.js';
import { StageDistributions } from '../../src/collect/event-log/quantiles.js';
import { newTaskRecord, scanTaskLine, taskRecordFromJson } from '../../src/collect/event-log/task-record.js';
import { eventLogCollector } from '../../src/index.js';
import { sharedData } from '../helpers/data.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('the task-line scanner', () => {
  it('reads every task start and successful task end of the real logs exactly as JSON.parse does', async () => {
    const scanned = newTaskRecord();
    const parsed = newTaskRecord();
    let checked = 0;
    let fellBack = 0;
    const logs = files(sharedData()).filter(
      (f) => !/\.(json|md)$|SHA256SUMS|appstatus|APPLICATION_COMPLETE|SPARK_VERSION/.test(f),
    );
    for (const file of logs) {
      const codec = codecFromFileName(file);
      if (codec === 'zip') continue;
      let pending = Buffer.alloc(0);
      for await (const chunk of decodeFile(file, codec)) {
        const buf = Buffer.concat([pending, chunk]);
        let from = 0;
        let nl = buf.indexOf(10, from);
        while (nl >= 0) {
          const head = buf.toString('latin1', from, Math.min(nl, from + 40));
          const isEnd = head.startsWith('{"Event":"SparkListenerTaskEnd"');
          const isStart = head.startsWith('{"Event":"SparkListenerTaskStart"');
          if (isEnd || isStart) {
            let e: { 'Task End Reason'?: { Reason?: string } } | undefined;
            try {
              e = JSON.parse(buf.toString('utf8', from, nl));
            } catch {
              e = undefined;
            }
            const ok = scanTaskLine(buf, from, nl, isEnd, scanned);
            if (e) {
              const success = !isEnd || (e['Task End Reason']?.Reason ?? 'Success') === 'Success';
              if (ok) {
                expect(success, `${file}: scanner accepted a failed task`).toBe(true);
                taskRecordFromJson(e, parsed);
                expect(scanned.executorId).toBe(parsed.executorId);
                expect([...scanned.values]).toEqual([...parsed.values]);
                checked++;
              } else if (success) fellBack++;
            } else {
              expect(ok).toBe(false);
            }
          }
          from = nl + 1;
          nl = buf.indexOf(10, from);
        }
        pending = buf.subarray(from);
      }
    }
    expect(checked).toBeGreaterThan(70_000);
    // Every well-formed task line of Spark's writers takes the fast path.
    expect(fellBack).toBe(0);
  });

  it('steps over escaped quotes and backslashes in string values, and refuses a line cut inside one', () => {
    // A real task end, with its Host value given quotes and backslashes (escaped as JsonProtocol writes
    // them): the keys after it (Locality, Speculative, Finish Time, the metrics) must still be read.
    const file = sharedData('spark-events/application_1553914137147_0018');
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('{"Event":"SparkListenerTaskEnd"') && l.includes('"Reason":"Success"'));
    expect(line).toMatch(/"Host":"[^"]+"/);
    const scanned = newTaskRecord();
    const parsed = newTaskRecord();
    let checkedCuts = 0;
    for (const host of [String.raw`a\"b\\`, String.raw`\\\"`, String.raw`\\`, String.raw`x\\\\\"y`]) {
      const text = line!.replace(/"Host":"[^"]+"/, `"Host":"${host}"`);
      const e = JSON.parse(text);
      expect(e['Task Info'].Host).toBe(JSON.parse(`"${host}"`));
      const buf = Buffer.from(text);
      expect(scanTaskLine(buf, 0, buf.length, true, scanned), host).toBe(true);
      taskRecordFromJson(e, parsed);
      expect([...scanned.values]).toEqual([...parsed.values]);
      expect(scanned.executorId).toBe(parsed.executorId);
      // Cut just after an escaped quote of the value: no closing quote before the end.
      const quote = host.indexOf('"');
      if (quote > 0) {
        const cut = text.indexOf('"Host":"') + 8 + quote + 1;
        expect(scanTaskLine(buf, 0, cut, true, scanned), host).toBe(false);
        checkedCuts++;
      }
    }
    expect(checkedCuts).toBe(3);
  });
});

describe('stage distributions', () => {
  it('are exact up to the capacity, then within 1% of the exact quantiles', () => {
    const qs = [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1];
    const values: number[] = [];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 20_000; i++) values.push(Math.round(Math.exp(rnd() * 12)));
    const small = new StageDistributions(1, 100_000);
    const bounded = new StageDistributions(1, 256);
    const row = new Float64Array(1);
    for (const v of values) {
      row[0] = v;
      small.add(row);
      bounded.add(row);
    }
    const sorted = [...values].sort((a, b) => a - b);
    const exact = qs.map((q) => sorted[Math.min(Math.floor(q * sorted.length), sorted.length - 1)]!);
    expect(small.isExact).toBe(true);
    expect(small.quantiles(0, qs)).toEqual(exact);
    expect(bounded.isExact).toBe(false);
    const approx = bounded.quantiles(0, qs);
    for (const [i, a] of approx.entries()) {
      expect(Math.abs(a - exact[i]!)).toBeLessThanOrEqual(Math.max(1, exact[i]! * 0.011));
    }
  });

  it("sort other tasks' values in with ranks from the successful count, exactly and past the capacity", () => {
    const qs = [0.05, 0.25, 0.5, 0.75, 0.95];
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const succeeded = Array.from({ length: 300 }, () => Math.round(Math.exp(rnd() * 9)));
    const others = Array.from({ length: 120 }, () => Math.round(Math.exp(rnd() * 9)));
    // The History Server's taskSummary: sorted over every task, index min(floor(q * n), n - 1) with n the
    // successful tasks.
    const all = [...succeeded, ...others].sort((a, b) => a - b);
    const n = succeeded.length;
    const expected = qs.map((q) => all[Math.min(Math.floor(q * n), n - 1)]!);
    const row = new Float64Array(1);
    const fill = (d: StageDistributions) => {
      for (const v of succeeded) {
        row[0] = v;
        d.add(row);
      }
      for (const v of others) d.addOther(0, v);
      return d;
    };
    const exact = fill(new StageDistributions(1, 1000));
    expect(exact.count).toBe(300);
    expect(exact.quantiles(0, qs)).toEqual(expected);
    // Past the capacity, on the successful side and on the other side alike: within 1%.
    for (const d of [fill(new StageDistributions(1, 100)), fill(new StageDistributions(1, 200))]) {
      expect(d.count).toBe(300);
      for (const [i, v] of d.quantiles(0, qs).entries())
        expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(Math.max(1, expected[i]! * 0.011));
    }
    // Few successes kept exactly, the other values past the capacity.
    const few = new StageDistributions(1, 100);
    for (const v of succeeded.slice(0, 40)) {
      row[0] = v;
      few.add(row);
    }
    for (const v of [...others, ...others]) few.addOther(0, v);
    const fewAll = [...succeeded.slice(0, 40), ...others, ...others].sort((a, b) => a - b);
    const fewExpected = qs.map((q) => fewAll[Math.min(Math.floor(q * 40), 39)]!);
    expect(few.isExact).toBe(true);
    for (const [i, v] of few.quantiles(0, qs).entries())
      expect(Math.abs(v - fewExpected[i]!)).toBeLessThanOrEqual(Math.max(1, fewExpected[i]! * 0.011));
  });

  it('are exact at the capacity and sketched past it, and stages sharing handed-on buffers keep their own rows', () => {
    const qs = [0, 0.5, 1];
    const row = new Float64Array(2);
    const atCapacity = new StageDistributions(2, 64);
    const pastCapacity = new StageDistributions(2, 64);
    for (let i = 1; i <= 65; i++) {
      row[0] = i * 1000;
      row[1] = 7;
      if (i <= 64) atCapacity.add(row);
      pastCapacity.add(row);
    }
    expect(atCapacity.isExact).toBe(true);
    expect(atCapacity.count).toBe(64);
    expect(atCapacity.quantiles(0, qs)).toEqual([1000, 33000, 64000]);
    expect(pastCapacity.isExact).toBe(false);
    expect(pastCapacity.count).toBe(65);
    expect(pastCapacity.quantiles(1, qs)).toEqual([7, 7, 7]);
    const sketched = pastCapacity.quantiles(0, qs);
    for (const [i, v] of [1000, 33000, 65000].entries())
      expect(Math.abs(sketched[i]! - v)).toBeLessThanOrEqual(v * 0.011);
    // Buffers handed on (when a stage's buffer grows, folds or is released) go to other live stages: each
    // stage still sees only its own rows.
    atCapacity.release();
    pastCapacity.release();
    const a = new StageDistributions(1, 100);
    const b = new StageDistributions(1, 100);
    const c = new StageDistributions(1, 40);
    const one = new Float64Array(1);
    for (let i = 1; i <= 90; i++) {
      one[0] = i;
      a.add(one);
      one[0] = 1000 + i;
      b.add(one);
      one[0] = 5000 + i;
      c.add(one);
    }
    expect([a.isExact, b.isExact, c.isExact]).toEqual([true, true, false]);
    expect(a.quantiles(0, qs)).toEqual([1, 46, 90]);
    expect(b.quantiles(0, qs)).toEqual([1001, 1046, 1090]);
    const sketchedC = c.quantiles(0, qs);
    for (const [i, v] of [5001, 5046, 5090].entries())
      expect(Math.abs(sketchedC[i]! - v)).toBeLessThanOrEqual(v * 0.011);
    // A stage past a capacity above 256 rows folds into a smaller buffer and hands its large one on, while
    // another stage grows through the same sizes.
    const d = new StageDistributions(1, 300);
    const e = new StageDistributions(1, 1000);
    for (let i = 1; i <= 600; i++) {
      one[0] = 10_000 + i;
      d.add(one);
      if (i > 300) {
        one[0] = i - 300;
        e.add(one);
      }
    }
    expect([d.isExact, e.isExact]).toEqual([false, true]);
    expect(e.quantiles(0, qs)).toEqual([1, 151, 300]);
    const sketchedD = d.quantiles(0, qs);
    for (const [i, v] of [10_001, 10_301, 10_600].entries())
      expect(Math.abs(sketchedD[i]! - v)).toBeLessThanOrEqual(v * 0.011);
    // A capacity beyond the shared sort buffer still gives exact quantiles.
    const large = new StageDistributions(1, 200_000);
    for (let i = 100_000; i > 0; i--) {
      one[0] = i;
      large.add(one);
    }
    expect(large.isExact).toBe(true);
    expect(large.quantiles(0, qs)).toEqual([1, 50_001, 100_000]);
  });

  it('bound a large stage: a 1,000-task stage read with 64 exact values stays within 1%', async () => {
    const path = sharedData('more-events/spark-rapids-tools/spark-events-profiling/nds_q66_gpu.zstd');
    const exact = (await eventLogCollector({ workers: 1 }).collect(path)).applications[0]!;
    const sketched = (await eventLogCollector({ workers: 1, exactQuantileValues: 64 }).collect(path))
      .applications[0]!;
    const big = exact.stages.filter((s) => s.numCompleteTasks > 1000);
    expect(big.length).toBeGreaterThan(0);
    for (const s of big) {
      const t = sketched.stages.find((x) => x.stageId === s.stageId && x.attemptId === s.attemptId)!;
      const a = s.taskMetricsDistributions!.executorRunTime;
      const b = t.taskMetricsDistributions!.executorRunTime;
      for (const [i, v] of a.entries())
        expect(Math.abs(b[i]! - v)).toBeLessThanOrEqual(Math.max(1, v * 0.011));
      expect(t.executorRunTime).toBe(s.executorRunTime);
    }
  });
});

describe('the set of running task ids', () => {
  it('answers as a Set does over a million random adds and deletes, ids past 2^32 included', () => {
    const ours = new TaskIdSet();
    const ref = new Set<number>();
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    // Ids in a sliding window, as tasks start in order and end in any order, plus far ids that collide.
    let next = 0;
    let grew = 0;
    let differ = 0;
    for (let op = 0; op < 1_000_000; op++) {
      const r = rnd();
      if (r < 0.5) {
        const id = r < 0.02 ? 2 ** 40 + Math.floor(rnd() * 1000) * 2 ** 33 : next++;
        ours.add(id);
        ref.add(id);
      } else {
        const id =
          r < 0.52 ? 2 ** 40 + Math.floor(rnd() * 1000) * 2 ** 33 : next - 1 - Math.floor(rnd() * 600);
        if (ours.delete(id) !== ref.delete(id)) differ++;
      }
      if (op === 500_000) grew = ours.size;
      if (ours.size !== ref.size) differ++;
    }
    expect(differ).toBe(0);
    expect(grew).toBeGreaterThan(100);
    for (const id of ref) if (!ours.delete(id)) differ++;
    expect(differ).toBe(0);
    expect(ours.size).toBe(0);
    expect(ours.delete(0)).toBe(false);
  });
});

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

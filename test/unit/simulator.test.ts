import { describe, expect, it } from 'vitest';
import { stageSpans, taskDurations, unionLength } from '../../src/analyze/timeline.js';
import { efficiencyOf, eventLogCollector, parseSparkDate, StageSimulator } from '../../src/index.js';
import { fixture, sharedData } from '../helpers/data.js';

const shared = await eventLogCollector({ workers: 1 }).collect([
  sharedData('spark-events'),
  sharedData('spark-events-historical'),
  sharedData('more-events'),
]);
const complete = shared.applications.filter(
  (m) => m.application.attempts[0]!.completed && m.stages.length > 0,
);

describe('the efficiency report', () => {
  it('splits the wall clock into driver and executor time, and never uses more core-hours than it had', () => {
    expect(complete.length).toBeGreaterThan(40);
    for (const m of complete) {
      const e = efficiencyOf(m);
      const a = m.application.attempts[0]!;
      expect(e.wallClockMs).toBe(a.endTimeEpoch - a.startTimeEpoch);
      expect(e.driverWallClockMs + e.executorWallClockMs).toBe(e.wallClockMs);
      expect(e.coreHoursUsed).toBeLessThanOrEqual(e.coreHoursAvailable + 1e-9);
      expect(e.coreUtilization).toBeGreaterThanOrEqual(0);
      expect(e.coreUtilization).toBeLessThanOrEqual(1);
      expect(e.coreHoursWasted).toBeCloseTo(e.coreHoursAvailable - e.coreHoursUsed, 9);
      // The ideal time spreads the task time perfectly: never above the observed executor time plus driver time
      // by more than rounding, and never below the driver time.
      expect(e.idealMs).toBeGreaterThanOrEqual(e.driverWallClockMs);
    }
  });

  it('counts executor time as the union of the stages that ran, computed independently', () => {
    for (const m of complete.slice(0, 30)) {
      const intervals = m.stages
        .filter((s) => s.status !== 'SKIPPED' && s.submissionTime && s.completionTime)
        .map((s) => [parseSparkDate(s.submissionTime), parseSparkDate(s.completionTime)] as const)
        .filter(([a, b]) => b >= a)
        .sort((x, y) => x[0] - y[0]);
      let union = 0;
      let end = Number.NEGATIVE_INFINITY;
      for (const [a, b] of intervals) {
        if (a >= end) union += b - a;
        else if (b > end) union += b - end;
        end = Math.max(end, b);
      }
      expect(efficiencyOf(m).executorWallClockMs).toBe(Math.min(union, efficiencyOf(m).wallClockMs));
    }
  });

  it('gives a local-mode run the driver as its only executor, with the cores of local[2]', async () => {
    const r = await eventLogCollector({ workers: 1 }).collect(fixture('spark-events/uncompressed'));
    const e = efficiencyOf(r.applications[0]!);
    expect(e.maxSlots).toBe(2);
    expect(e.executors).toBe(0);
    expect(e.stages.length).toBeGreaterThan(0);
    for (const s of e.stages) expect(s.slots).toBe(2);
  });
});

describe('the stage simulator', () => {
  it('rebuilds each stage task durations adding up to its task time', () => {
    for (const m of complete.slice(0, 30)) {
      for (const span of stageSpans(m)) {
        const d = taskDurations(span);
        const n = span.stage.numCompleteTasks + span.stage.numFailedTasks + span.stage.numKilledTasks;
        expect(d.length).toBe(Math.max(1, n));
        expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(span.taskTimeMs, 3);
      }
    }
  });

  it('predicts the observed configuration exactly, and never slower with more slots', () => {
    for (const m of complete) {
      const sim = new StageSimulator(m);
      expect(sim.predictSlots(sim.observedSlots)).toBe(Math.max(1, sim.observedWallClockMs));
      let previous = Number.POSITIVE_INFINITY;
      for (const slots of [1, 2, 3, 4, 8, 16, 64, 256]) {
        const t = sim.predictSlots(slots);
        expect(t).toBeLessThanOrEqual(previous + 1e-6);
        previous = t;
      }
    }
  });

  it('with one slot, runs every task one after the other', () => {
    for (const m of complete.slice(0, 30)) {
      const sim = new StageSimulator(m);
      const taskTime = stageSpans(m).reduce((a, s) => a + s.taskTimeMs, 0);
      expect(sim.simulate(1)).toBeCloseTo(taskTime, 0);
    }
  });

  it('gives a curve point per executor count', () => {
    const sim = new StageSimulator(complete[0]!);
    const curve = sim.curve([1, 2, 4], 2);
    expect(curve.map((p) => p.slots)).toEqual([2, 4, 8]);
    expect(curve.every((p) => p.wallClockMs > 0)).toBe(true);
  });

  it('keeps overlapping stages apart from the union of their spans', () => {
    expect(
      unionLength([
        { start: 0, end: 10 },
        { start: 5, end: 20 },
        { start: 30, end: 31 },
      ]),
    ).toBe(21);
  });
});

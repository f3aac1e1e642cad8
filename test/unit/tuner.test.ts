import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnalyzeError,
  createTuner,
  ingestEventLogs,
  openStore,
  paretoFront,
  RecommendError,
  settingsOf,
} from '../../src/index.js';
import { fixture } from '../helpers/data.js';

interface ManifestRun {
  workload: string;
  appId: string;
  executors: number;
  coresPerExecutor: number;
  wallClockMs: number;
}
const manifest = JSON.parse(readFileSync(fixture('workloads/manifest.json'), 'utf8'));
const runs: ManifestRun[] = manifest.runs;
const workloads = [...new Set(runs.map((r) => r.workload))];
const fixtures = JSON.parse(readFileSync(fixture('spark-events/fixtures.json'), 'utf8')).scenarios;
const failuresApp: string = fixtures.find((s: { scenario: string }) => s.scenario === 'failures').appId;

const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-tuner-'));
const store = await openStore(`sqlite:${join(dir, 'tuner.db')}`);
afterAll(() => store.close());
const ingested = await ingestEventLogs(store, [fixture('workloads'), fixture('spark-events')], {
  workers: 1,
});

describe('the tuner over a store of real runs', () => {
  it('stored every workload run', () => {
    expect(ingested.failed).toEqual([]);
    expect(ingested.new).toBeGreaterThanOrEqual(runs.length);
  });

  it('analyzes a stored run, keeps the analysis, and names the failed tasks', async () => {
    const tuner = createTuner(store);
    const a = await tuner.analyze(failuresApp);
    expect(a.appId).toBe(failuresApp);
    expect(a.findings.length).toBeGreaterThan(0);
    expect(a.findings.some((f) => /fail/.test(f.id))).toBe(true);
    const stored = await store.analyses.latest(failuresApp);
    expect(stored?.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
    expect(a.efficiency.wallClockMs).toBeGreaterThan(0);
    await expect(tuner.analyze('no-such-app')).rejects.toBeInstanceOf(AnalyzeError);
  });

  it('recommends settings for each workload from its history, on the time-against-cost front', async () => {
    const tuner = createTuner(store, { maxExecutors: 8 });
    for (const w of workloads) {
      const mine = runs.filter((r) => r.workload === w);
      const rec = await tuner.recommend(`sparkpilot-workload-${w}`, { objective: 'balanced' });
      expect(rec.jobKey).toBe(`sparkpilot-workload-${w}`);
      expect(rec.recommender).toBe('ensemble');
      expect(rec.basis.historyRuns).toBe(mine.length);
      expect(rec.basis.distinctSettings).toBe(
        new Set(mine.map((r) => `${r.executors}x${r.coresPerExecutor}`)).size,
      );
      expect(rec.confidence).toBeGreaterThan(0);
      expect(rec.confidence).toBeLessThan(1);
      expect(Number(rec.properties['spark.executor.instances'])).toBe(rec.settings.executors);
      expect(rec.settings.executors).toBeLessThanOrEqual(8);
      const p = rec.prediction;
      expect(p.durationMs.low).toBeLessThanOrEqual(p.durationMs.value);
      expect(p.durationMs.high).toBeGreaterThanOrEqual(p.durationMs.value);
      // The alternatives and the pick are all on one front: none both faster and cheaper than another.
      const all = [
        { settings: rec.settings, properties: rec.properties, prediction: p },
        ...rec.alternatives,
      ];
      expect(paretoFront(all)).toHaveLength(all.length);
      expect(await tuner.recommendation(rec.id)).toEqual(rec);
    }
  });

  it('a cost objective is never dearer, and a time objective never slower, than balanced', async () => {
    const tuner = createTuner(store, { maxExecutors: 8 });
    const job = `sparkpilot-workload-${workloads[0]}`;
    const balanced = await tuner.recommend(job);
    const cost = await tuner.recommend(job, { objective: 'cost' });
    const time = await tuner.recommend(job, { objective: 'time' });
    expect(cost.prediction.cost.value).toBeLessThanOrEqual(balanced.prediction.cost.value + 1e-12);
    expect(time.prediction.durationMs.value).toBeLessThanOrEqual(balanced.prediction.durationMs.value + 1e-6);
  });

  it('learns from feedback: the run that followed is linked, and the next prediction moves towards it', async () => {
    const tuner = createTuner(store, { maxExecutors: 8 });
    const w = workloads[0]!;
    const job = `sparkpilot-workload-${w}`;
    const first = await tuner.recommend(job);
    // Pretend the run that used it was one of the stored runs (the slowest one).
    const slowest = runs.filter((r) => r.workload === w).sort((a, b) => b.wallClockMs - a.wallClockMs)[0]!;
    const model = await store.applications.get(slowest.appId);
    const record = await tuner.feedback(first.id, { appId: slowest.appId });
    expect(record.observedMs).toBe(model!.application.attempts[0]!.duration);
    expect(record.predictedMs).toBe(first.prediction.durationMs.value);
    expect((await store.feedback.forRecommendation(first.id)).map((f) => f.appId)).toEqual([slowest.appId]);
    const next = await tuner.recommend(job);
    const ratio = Math.min(2, Math.max(0.5, record.observedMs! / record.predictedMs));
    expect(next.notes.some((n) => n.includes('earlier recommendation'))).toBe(true);
    // One feedback scales every candidate alike, so the pick stays and its prediction moves by the ratio.
    expect(next.settings).toEqual(first.settings);
    expect(next.prediction.durationMs.value).toBeCloseTo(first.prediction.durationMs.value * ratio, 0);
    await expect(tuner.feedback('rec_nope', { rating: 4 })).rejects.toMatchObject({
      code: 'SPARKPILOT_RECOMMEND_UNKNOWN',
    });
    await expect(tuner.feedback(first.id, { rating: 9 })).rejects.toThrow(/1 \(bad\) to 5/);
  });

  it('says when a job has no data, and falls back with a low confidence when history is short', async () => {
    const tuner = createTuner(store);
    await expect(tuner.recommend('never ran')).rejects.toBeInstanceOf(RecommendError);
    const failures = await tuner.recommend('sparkpilot-fixture-failures');
    expect(failures.confidence).toBeLessThan(0.5);
    expect(failures.basis.historyRuns).toBeLessThanOrEqual(1);
  });

  it('finds similar runs of other jobs with explainable parts', async () => {
    const tuner = createTuner(store);
    const r = runs[0]!;
    const near = await tuner.similar(r.appId, 3);
    expect(near).toHaveLength(3);
    for (const n of near) {
      expect(n.jobKey).not.toBe(`sparkpilot-workload-${r.workload}`);
      expect(n.similarity.value).toBeGreaterThan(0);
      expect(n.similarity.value).toBeLessThanOrEqual(1);
    }
    expect(near[0]!.similarity.value).toBeGreaterThanOrEqual(near[2]!.similarity.value);
    const model = await store.applications.get(r.appId);
    expect(settingsOf(model!).executors).toBe(r.executors);
    // Every stored attempt has its vector now; a changed attempt loses it and gets it back.
    expect(await tuner.refreshFeatures()).toBe(0);
    const changed = structuredClone(model!);
    changed.warnings = [];
    changed.stats = { ...changed.stats, events: changed.stats.events + 1 };
    expect((await store.applications.save(changed)).outcome).toBe('updated');
    expect(await tuner.refreshFeatures()).toBe(1);
    expect(await tuner.refreshFeatures()).toBe(0);
  });
});

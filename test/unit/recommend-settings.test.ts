import { describe, expect, it } from 'vitest';
import { FEATURE_LENGTH, FeatureIndex, featuresOf, similarity } from '../../src/analyze/features.js';
import { parseSparkBytes } from '../../src/analyze/units.js';
import { eventLogCollector } from '../../src/index.js';
import { combine, feedbackCorrection } from '../../src/recommend/predict.js';
import type { Candidate, ResourceSettings } from '../../src/recommend/recommender.js';
import {
  choose,
  costOf,
  executorCounts,
  formatMb,
  paretoFront,
  propertiesOf,
  settingsOf,
} from '../../src/recommend/settings.js';
import { jobKeyOf } from '../../src/store/summary.js';
import { fixture, sharedData } from '../helpers/data.js';

const s = (executors: number, cores = 2, mem = 4096): ResourceSettings => ({
  executors,
  coresPerExecutor: cores,
  executorMemoryMb: mem,
  memoryOverheadMb: 512,
  driverMemoryMb: 2048,
});
const candidate = (settings: ResourceSettings, ms: number, cost: number): Candidate => ({
  settings,
  properties: propertiesOf(settings),
  prediction: {
    durationMs: { value: ms, low: ms, high: ms },
    cost: { value: cost, low: cost, high: cost },
    coreHours: 0,
    gbHours: 0,
  },
});

describe('settings', () => {
  it('reads Spark sizes in the units Spark takes', () => {
    expect(parseSparkBytes('4g', 'm')).toBe(4 * 1024 ** 3);
    expect(parseSparkBytes('512m', 'm')).toBe(512 * 1024 ** 2);
    expect(parseSparkBytes('1024', 'm')).toBe(1024 * 1024 ** 2);
    expect(parseSparkBytes('2048k', 'm')).toBe(2048 * 1024);
    expect(parseSparkBytes('lots', 'm')).toBeUndefined();
    expect(formatMb(4096)).toBe('4g');
    expect(formatMb(1536)).toBe('1536m');
  });

  it('writes settings as Spark properties', () => {
    expect(propertiesOf({ ...s(10, 4, 8192), shufflePartitions: 400 })).toEqual({
      'spark.executor.instances': '10',
      'spark.executor.cores': '4',
      'spark.executor.memory': '8g',
      'spark.executor.memoryOverhead': '512m',
      'spark.driver.memory': '2g',
      'spark.dynamicAllocation.enabled': 'false',
      'spark.sql.shuffle.partitions': '400',
    });
  });

  it('reads the settings of real runs: local mode, and executors of local-cluster', async () => {
    const local = (await eventLogCollector({ workers: 1 }).collect(fixture('spark-events/uncompressed')))
      .applications[0]!;
    expect(settingsOf(local)).toMatchObject({ executors: 1, coresPerExecutor: 2 });
    const cluster = (await eventLogCollector({ workers: 1 }).collect(fixture('spark-events/failures')))
      .applications[0]!;
    expect(settingsOf(cluster)).toMatchObject({ executors: 2, coresPerExecutor: 1, executorMemoryMb: 512 });
  });

  it('prices core-hours and GB-hours, or packs executors onto instances', () => {
    const hour = 3_600_000;
    const c = costOf(s(10, 4, 7680), hour, { corePerHour: 0.05, gbPerHour: 0.01 });
    expect(c.coreHours).toBe(40);
    expect(c.gbHours).toBeCloseTo(10 * 8, 9);
    expect(c.cost).toBeCloseTo(40 * 0.05 + 80 * 0.01, 9);
    const packed = costOf(s(10, 4, 7680), hour, {
      corePerHour: 0,
      gbPerHour: 0,
      instanceTypes: [{ name: 'm.4xl', cores: 16, memoryGb: 64, pricePerHour: 1 }],
    });
    // 4 executors of 4 cores and 8 GB fit one instance: 10 executors need 3.
    expect(packed.cost).toBe(3);
    expect(
      costOf(s(1, 32), hour, {
        corePerHour: 0,
        gbPerHour: 0,
        instanceTypes: [{ name: 'small', cores: 8, memoryGb: 32, pricePerHour: 1 }],
      }).cost,
    ).toBe(Number.POSITIVE_INFINITY);
  });

  it('tries every executor count to 8, then steps of a quarter, up to the maximum', () => {
    expect(executorCounts(20)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 17, 20]);
    expect(executorCounts(1)).toEqual([1]);
  });
});

describe('the time-against-cost front and the objectives', () => {
  const cands = [
    candidate(s(1), 1000, 1),
    candidate(s(2), 600, 1.2),
    candidate(s(3), 650, 1.5), // slower and dearer than s(2): off the front
    candidate(s(4), 400, 1.6),
    candidate(s(8), 380, 3.0),
  ];
  const front = paretoFront(cands);

  it('keeps only candidates no other is both faster and cheaper than, fastest first', () => {
    expect(front.map((c) => c.settings.executors)).toEqual([8, 4, 2, 1]);
  });

  it('picks the cheapest within a deadline, the fastest within a budget, and balances', () => {
    expect(choose(front, 'cost').settings.executors).toBe(1);
    expect(choose(front, 'cost', { deadlineMs: 700 }).settings.executors).toBe(2);
    expect(choose(front, 'time').settings.executors).toBe(8);
    expect(choose(front, 'time', { budget: 2 }).settings.executors).toBe(4);
    // Balanced: least (t / 380) * (c / 1): 8: 3.0, 4: 1.68, 2: 1.89, 1: 2.63.
    expect(choose(front, 'balanced').settings.executors).toBe(4);
    // A deadline nobody meets: the fastest.
    expect(choose(front, 'cost', { deadlineMs: 10 }).settings.executors).toBe(8);
  });
});

describe('predictions', () => {
  it('combines estimates by inverse squared error', () => {
    const c = combine([
      { ms: 100, relError: 0.1 },
      { ms: 200, relError: 0.2 },
    ]);
    // weights 100 and 25
    expect(c.ms).toBeCloseTo((100 * 100 + 25 * 200) / 125, 9);
  });

  it('learns from feedback: the median of observed over predicted, bounded', () => {
    const f = (predictedMs: number, observedMs?: number) => ({
      recommendationId: 'r',
      jobKey: 'j',
      createdAt: 0,
      outcome: { rating: 3 },
      predictedMs,
      ...(observedMs !== undefined ? { observedMs } : {}),
    });
    expect(feedbackCorrection([]).factor).toBe(1);
    expect(feedbackCorrection([f(100, 120), f(100, 130), f(100, 110)]).factor).toBeCloseTo(1.2, 9);
    expect(feedbackCorrection([f(100, 1000)]).factor).toBe(2);
    expect(feedbackCorrection([f(100)]).runs).toBe(0);
  });
});

describe('features and similarity', async () => {
  const runs = (
    await eventLogCollector({ workers: 1 }).collect([sharedData('spark-events'), sharedData('more-events')])
  ).applications;

  it('gives every run a vector of the documented length, and a run is most similar to itself', () => {
    for (const m of runs) {
      const v = featuresOf(m);
      expect(v).toHaveLength(FEATURE_LENGTH);
      expect(v.every(Number.isFinite)).toBe(true);
      const self = similarity(v, v);
      expect(self.value).toBeCloseTo(1, 9);
    }
  });

  it('finds the k nearest exhaustively, in order, with explainable parts', () => {
    const index = new FeatureIndex();
    for (const m of runs) {
      index.add(
        { appId: m.appId, attemptId: m.attemptId ?? '', jobKey: jobKeyOf(m.application.name) },
        featuresOf(m),
      );
    }
    expect(index.size).toBe(runs.length);
    const target = runs[3]!;
    const q = featuresOf(target);
    const got = index.nearest(q, 5, { exclude: (r) => r.appId === target.appId });
    expect(got).toHaveLength(5);
    // Brute force in the test: the same five, in the same order.
    const all = runs
      .filter((m) => m.appId !== target.appId)
      .map((m) => ({ appId: m.appId, s: similarity(q, featuresOf(m)).value }))
      .sort((a, b) => b.s - a.s);
    expect(got.map((n) => n.similarity.value)).toEqual(all.slice(0, 5).map((x) => expect.closeTo(x.s, 9)));
    for (const n of got) {
      expect(Object.keys(n.similarity.parts).sort()).toEqual([
        'behaviour',
        'config',
        'name',
        'shape',
        'spill',
        'volume',
      ]);
    }
  });
});

describe('findings in a recommendation', () => {
  it('carries the properties the findings advise beyond resources, and names those findings', async () => {
    const { ensembleRecommender } = await import('../../src/index.js');
    const runs = (await eventLogCollector({ workers: 1 }).collect(fixture('workloads/aggregate')))
      .applications;
    const rec = await ensembleRecommender().recommend({
      jobKey: 'sparkpilot-workload-aggregate',
      history: runs,
      similar: [],
      objective: 'balanced',
      pricing: { corePerHour: 0.04, gbPerHour: 0.005 },
      feedback: [],
      maxExecutors: 4,
      analysis: {
        appId: runs[0]!.appId,
        attemptId: '',
        analyzer: 'job',
        version: '1',
        createdAt: 0,
        severity: 'moderate',
        efficiency: {} as never,
        findings: [
          {
            id: 'small-files',
            title: 'Tiny input splits',
            severity: 'moderate',
            summary: '',
            evidence: { metrics: {} },
            advice: [],
            properties: { 'spark.sql.files.maxPartitionBytes': '256m', 'spark.executor.memory': '99g' },
          },
        ],
      },
    });
    expect(rec.properties['spark.sql.files.maxPartitionBytes']).toBe('256m');
    // Resource properties come from the sizing, never copied from a finding.
    expect(rec.properties['spark.executor.memory']).not.toBe('99g');
    expect(rec.findings).toContain('small-files');
  });
});

describe('dynamic allocation', () => {
  it('is kept for a job that used it, with the recommended executors as its ceiling', async () => {
    const { ensembleRecommender } = await import('../../src/index.js');
    // A real run with dynamic allocation on (shared data: the History Server suite's dynamic allocation app).
    const runs = (
      await eventLogCollector({ workers: 1 }).collect(sharedData('spark-events'))
    ).applications.filter((m) =>
      m.environment.sparkProperties.some(([k, v]) => k === 'spark.dynamicAllocation.enabled' && v === 'true'),
    );
    expect(runs.length).toBeGreaterThan(0);
    const run = runs[0]!;
    expect(settingsOf(run).dynamicAllocation).toBeDefined();
    const rec = await ensembleRecommender().recommend({
      jobKey: jobKeyOf(run.application.name),
      history: [run],
      similar: [],
      objective: 'time',
      pricing: { corePerHour: 0.04, gbPerHour: 0.005 },
      feedback: [],
      maxExecutors: 6,
    });
    expect(rec.properties['spark.dynamicAllocation.enabled']).toBe('true');
    expect(rec.properties['spark.dynamicAllocation.maxExecutors']).toBe(String(rec.settings.executors));
    expect(rec.properties['spark.executor.instances']).toBeUndefined();
    expect(Number(rec.properties['spark.dynamicAllocation.minExecutors'])).toBeLessThanOrEqual(
      rec.settings.executors,
    );
  });

  it('is off, with a static count, for a job that did not use it', () => {
    expect(propertiesOf(s(3))).toMatchObject({
      'spark.dynamicAllocation.enabled': 'false',
      'spark.executor.instances': '3',
    });
  });
});

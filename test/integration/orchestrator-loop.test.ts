import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createOrchestrator,
  createTuner,
  definePipeline,
  openStore,
  type Recommendation,
  sparkSubmitAdapter,
} from '../../src/index.js';
import { sparkEnv, sparkHome, venvPython } from '../helpers/spark.js';

// A small real job: an aggregation with a shuffle, so that its event log has stages, tasks and a shuffle.
const JOB = `
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
df = spark.range(0, 2_000_000, numPartitions=8).selectExpr("id % 1000 as k", "id as v")
rows = df.groupBy("k").sum("v").collect()
assert len(rows) == 1000
spark.stop()
`;

describe('the loop on real Spark: run, collect, recommend, run again with the recommendation', () => {
  it('starts the next run of an auto-resourced job with the settings recommended from the last one', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sparkpilot-loop-'));
    const logs = join(work, 'event-logs');
    mkdirSync(logs);
    const jobFile = join(work, 'agg.py');
    writeFileSync(jobFile, JOB);
    const python = venvPython();
    const adapter = sparkSubmitAdapter({
      sparkHome: sparkHome(),
      master: 'local[2]',
      stateDir: join(work, 'spark-submit'),
      env: { ...sparkEnv(), PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python },
      pollMs: 250,
    });
    const pipeline = definePipeline({
      name: 'loop',
      schedule: 'daily',
      jobs: [
        {
          name: 'agg',
          application: { file: jobFile },
          resources: {
            mode: 'auto',
            minConfidence: 0,
            // Larger than this small job needs: the recommendation then differs from it.
            fallback: { executors: 2, coresPerExecutor: 2, executorMemory: '2g' },
          },
          properties: {
            'spark.eventLog.enabled': 'true',
            'spark.eventLog.dir': `file://${logs}`,
            'spark.ui.enabled': 'false',
          },
          timeoutMs: 10 * 60_000,
        },
      ],
    });
    const store = await openStore(`sqlite:${join(work, 'sparkpilot.db')}`);
    const orchestrator = createOrchestrator({
      store,
      adapters: { default: adapter },
      pipelines: [pipeline],
      schedule: false,
      statusPollMs: 250,
      pollMs: 1_000,
      collect: { eventLogDir: logs, settleMs: 2_000 },
      tuner: createTuner(store),
    });
    const collected: { appId: string; recommendation?: Recommendation }[] = [];
    const errors: string[] = [];
    orchestrator.on('job:collected', ({ appId, recommendation }) =>
      collected.push({ appId, ...(recommendation ? { recommendation } : {}) }),
    );
    orchestrator.on('error', (err) => errors.push(err.message));
    const waitCollected = async (n: number) => {
      const deadline = Date.now() + 120_000;
      while (collected.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(collected.length, errors.join('\n')).toBe(n);
    };
    try {
      await orchestrator.start();
      const day = 24 * 3600_000;
      const first = await orchestrator.trigger('loop', {
        start: new Date(Date.UTC(2025, 5, 1)),
        end: new Date(Date.UTC(2025, 5, 1) + day),
      });
      expect((await orchestrator.waitForRun(first.id)).status).toBe('succeeded');
      await waitCollected(1);
      // No recommendation existed yet: the first run took the fallback.
      expect((await orchestrator.jobRuns(first.id))[0]!.data.resources).toEqual({ source: 'fallback' });
      const rec = collected[0]!.recommendation;
      expect(rec).toBeDefined();
      expect((await store.recommendations.latest('loop.agg'))?.id).toBe(rec!.id);

      const second = await orchestrator.trigger('loop', {
        start: new Date(Date.UTC(2025, 5, 2)),
        end: new Date(Date.UTC(2025, 5, 2) + day),
      });
      expect((await orchestrator.waitForRun(second.id)).status).toBe('succeeded');
      await waitCollected(2);
      const [jobRun] = await orchestrator.jobRuns(second.id);
      expect(jobRun!.data.resources).toEqual({
        source: 'recommendation',
        recommendationId: rec!.id,
        confidence: rec!.confidence,
      });
      // Spark itself ran the second application with the recommended properties: its stored environment
      // holds each of them.
      const app = await store.applications.get(collected[1]!.appId);
      expect(app).toBeDefined();
      const sparkProps = new Map(app!.environment.sparkProperties);
      expect(Object.keys(rec!.properties).length).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(rec!.properties))
        expect(sparkProps.get(key), key).toBe(value);
      // Some of them came from the recommendation only: the first application, run on the fallback, lacks them.
      const before = new Map(
        (await store.applications.get(collected[0]!.appId))!.environment.sparkProperties,
      );
      const onlyRecommended = Object.entries(rec!.properties).filter(([k, v]) => before.get(k) !== v);
      expect(onlyRecommended.length).toBeGreaterThan(0);
    } finally {
      await orchestrator.stop();
      await store.close();
    }
  }, 600_000);
});

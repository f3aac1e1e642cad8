import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ApplicationAttemptModel, eventLogCollector } from '../../src/index.js';
import { modelInvariantViolations } from '../../src/testing/index.js';
import { fixture } from '../helpers/data.js';
import { readFromAnywhere } from '../helpers/models.js';

interface Scenario {
  scenario: string;
  appId: string;
  appName: string;
  sparkVersion: string;
  complete: boolean;
  codec: string;
  files: { path: string; taskEnds?: number; role: string; entries?: { name: string; taskEnds?: number }[] }[];
}

const scenarios: Scenario[] = JSON.parse(
  readFileSync(fixture('spark-events/fixtures.json'), 'utf8'),
).scenarios;
const byName = (name: string) => scenarios.find((s) => s.scenario === name)!;
const taskEnds = (s: Scenario) => s.files.reduce((a, f) => a + (f.taskEnds ?? 0), 0);

describe('logs written by real Spark 4 (test/fixtures/spark-events)', async () => {
  const result = await eventLogCollector({ workers: 1 }).collect(fixture('spark-events'));
  const models = (scenario: string) => {
    const s = byName(scenario);
    const dir = `${fixture(`spark-events/${scenario}`)}`;
    return result.applications.filter(
      (a) => a.appId === s.appId && a.sources.every((p) => p.startsWith(dir)),
    );
  };

  it('reads every scenario without a failure, and every model is sound', () => {
    expect(result.failures.map((f) => f.error.message)).toEqual([]);
    expect(result.applications.flatMap(modelInvariantViolations)).toEqual([]);
    // One directory of logs per scenario, plus the 2 attempts inside the History Server zips.
    expect(result.applications.length).toBe(
      scenarios.filter((s) => s.scenario !== 'history-server-zip').length + 2,
    );
  });

  for (const s of scenarios.filter((x) => x.scenario !== 'history-server-zip')) {
    it(`${s.scenario}: ${s.codec}, ${s.complete ? 'complete' : 'in progress'}, task ends as Spark decoded them`, () => {
      const [m, ...rest] = models(s.scenario);
      expect(rest).toEqual([]);
      expect(m).toBeDefined();
      const model = m as ApplicationAttemptModel;
      expect(model.application.name).toBe(s.appName);
      expect(model.application.attempts[0]!.appSparkVersion).toBe(s.sparkVersion);
      expect(model.application.attempts[0]!.completed).toBe(s.complete);
      expect(model.stats.tasks).toBe(taskEnds(s));
      expect(model.stats.malformedLines).toBe(0);
      if (!s.complete) expect(model.warnings.map((w) => w.code)).toContain('incomplete');
    });
  }

  it('every codec gives the same model of the same job', () => {
    const shape = (m: ApplicationAttemptModel) => ({
      jobs: m.jobs.map((j) => [j.jobId, j.status, j.numTasks, j.numCompletedTasks]),
      stages: m.stages.map((s) => [
        s.stageId,
        s.status,
        s.numTasks,
        s.numCompleteTasks,
        s.shuffleWriteRecords,
        s.shuffleReadRecords,
      ]),
      executors: m.executors.map((e) => e.id),
    });
    const shapes = ['uncompressed', 'codec-lz4', 'codec-lzf', 'codec-snappy', 'codec-zstd'].map((n) =>
      shape(models(n)[0]!),
    );
    for (const s of shapes.slice(1)) expect(s).toEqual(shapes[0]);
    expect(shapes[0]!.jobs.length).toBeGreaterThan(2);
  });

  it('joins the parts of a rolling log in numeric order', () => {
    const m = models('rolling')[0]!;
    expect(m.sources.map((p) => p.replace(/.*\/events_(\d+)_.*/, '$1'))).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    expect(m.stats.tasks).toBe(taskEnds(byName('rolling')));
    // The 12,000 tiny tasks of many_tasks.py, plus the job's few others; all succeed.
    expect(m.stats.tasks).toBeGreaterThanOrEqual(12_000);
    expect(m.stages.reduce((a, s) => a + s.numCompleteTasks, 0)).toBe(m.stats.tasks);
    expect(m.application.attempts[0]!.completed).toBe(true);
  });

  it('reads the History Server /logs zips into the same models as the files', () => {
    const zipped = result.applications.filter((a) => a.sources[0]!.includes('.zip!'));
    expect(zipped.map((a) => a.appId).sort()).toEqual(
      [byName('codec-lz4').appId, byName('rolling').appId].sort(),
    );
    for (const z of zipped) {
      const direct = result.applications.find(
        (a) => a.appId === z.appId && !a.sources[0]!.includes('.zip!'),
      )!;
      expect(readFromAnywhere(z)).toEqual(readFromAnywhere(direct));
      // A log read from a file names its folder; one read from a zip names none.
      expect(direct.application.attempts[0]!.logSourceName).toMatch(/^file:\/\/\//);
      expect(z.application.attempts[0]!.logSourceName).toBeUndefined();
    }
  });

  it('models what a two-host cluster did: a speculative copy, a cancelled job group, an executor lost', () => {
    const m = models('cluster-events')[0]!;
    const stage = (id: number, attempt: number) =>
      m.stages.find((s) => s.stageId === id && s.attemptId === attempt)!;
    // The slow first task of stage 0 got a speculative copy, which won; the original was killed.
    expect(stage(0, 0).speculationSummary).toMatchObject({ numTasks: 1, numCompletedTasks: 1 });
    expect(stage(0, 0).killedTasksSummary).toEqual({ 'Stage cancelled: Stage finished': 1 });
    expect(m.jobs.find((j) => j.jobId === 0)).toMatchObject({ status: 'SUCCEEDED', numKilledTasks: 1 });
    // The cancelled job group: its two running tasks killed, the job failed.
    const cancelled = m.jobs.find((j) => j.jobId === 1)!;
    expect(cancelled).toMatchObject({
      status: 'FAILED',
      numKilledTasks: 2,
      jobGroup: 'sparkpilot-cancelled',
    });
    expect(stage(1, 0).status).toBe('FAILED');
    // The executor killed after the shuffle: removed with its reason, its map outputs computed again.
    const lost = m.executors.find((e) => e.id === '0')!;
    expect(lost.isActive).toBe(false);
    expect(lost.removeReason).toMatch(/exited/);
    expect(stage(3, 0).status).toBe('FAILED');
    expect(stage(3, 1).status).toBe('COMPLETE');
    expect(stage(2, 1).status).toBe('COMPLETE');
    const reasons = m.failures.map((f) => f.reason);
    expect(reasons).toContain('ExecutorLostFailure');
    expect(reasons).toContain('FetchFailed');
    // Two hosts, one core per executor.
    expect(
      new Set(m.executors.filter((e) => e.id !== 'driver').map((e) => e.hostPort.split(':')[0])),
    ).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
  });

  it('models executors that came and went: dynamic allocation and a second resource profile', () => {
    const m = models('elastic')[0]!;
    expect(m.environment.resourceProfiles.map((p) => [p.id, p.executorResources.memory?.amount])).toEqual([
      [0, 512],
      [1, 600],
    ]);
    const executors = m.executors.filter((e) => e.id !== 'driver');
    // Requested for the jobs, removed when idle; some of them for the stage of profile 1.
    expect(executors.filter((e) => !e.isActive).map((e) => e.removeReason)).toEqual(
      expect.arrayContaining(['Executor killed by driver.']),
    );
    expect(executors.filter((e) => !e.isActive).length).toBeGreaterThanOrEqual(2);
    expect(executors.some((e) => e.resourceProfileId === 1)).toBe(true);
    expect(m.stages.filter((s) => s.resourceProfileId === 1).map((s) => s.status)).toEqual(['COMPLETE']);
    for (const e of executors) expect(e.maxTasks).toBe(1);
    // The skewed join: the plan kept is AQE's final one, with the skewed partitions split.
    expect(m.sql.map((s) => s.status)).toEqual(['COMPLETED']);
    expect(m.sql[0]!.planDescription).toContain('== Final Plan ==');
    expect(m.sql[0]!.planDescription).toContain('SortMergeJoin(skew=true)');
  });

  it('models a streaming query: a job per micro-batch, nested SQL executions, the batch cut by stop()', () => {
    const m = models('streaming')[0]!;
    const batches = m.jobs.filter(
      (j) => j.jobGroup !== undefined && j.description?.startsWith('sparkpilot_counts'),
    );
    expect(batches.length).toBeGreaterThanOrEqual(4);
    // Stopping the query cancelled the batch in flight.
    const cut = batches.find((j) => j.status === 'FAILED')!;
    expect(cut.numKilledTasks).toBeGreaterThan(0);
    expect(batches.filter((j) => j.status === 'SUCCEEDED').length).toBe(batches.length - 1);
    // Each batch's execution is nested in a root execution of its own (Spark 3.4+).
    const nested = m.sql.filter((s) => s.rootExecutionId !== s.id);
    expect(nested.length).toBeGreaterThanOrEqual(batches.length);
    for (const s of nested) expect(m.sql.some((r) => r.id === s.rootExecutionId)).toBe(true);
    expect(m.sql.find((s) => s.failedJobIds.includes(cut.jobId))?.status).toBe('FAILED');
  });

  it('groups the failures of a run with failed tasks, and marks the failed job and stage', () => {
    const m = models('failures')[0]!;
    const exceptions = m.failures.filter((f) => f.reason === 'ExceptionFailure');
    expect(exceptions.length).toBeGreaterThan(0);
    expect(exceptions.reduce((a, f) => a + f.count, 0)).toBe(
      m.stages.reduce((a, s) => a + s.numFailedTasks, 0),
    );
    expect(exceptions[0]!.sampleMessages.length).toBeGreaterThan(0);
    expect(m.jobs.some((j) => j.status === 'FAILED')).toBe(true);
    expect(m.jobs.some((j) => j.status === 'SUCCEEDED' && j.numFailedTasks > 0)).toBe(true);
    expect(m.stages.some((s) => s.status === 'FAILED' && (s.failureReason ?? '').length > 0)).toBe(true);
    expect(m.executors.filter((e) => e.id !== 'driver').length).toBe(2);
  });
});

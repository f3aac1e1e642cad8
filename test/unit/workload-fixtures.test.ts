import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ApplicationAttemptModel, eventLogCollector } from '../../src/index.js';
import { fixture } from '../helpers/data.js';

/** One run of test/fixtures/workloads/manifest.json (written by scripts/fixtures/workloads.sh). */
interface WorkloadRun {
  file: string;
  workload: string;
  executors: number;
  coresPerExecutor: number;
  executorMemoryMb: number;
  conf: Record<string, string>;
  appId: string;
  wallClockMs: number;
  stagesCompleted: number;
  tasks: number;
}

const manifest: { runs: WorkloadRun[] } = JSON.parse(
  readFileSync(fixture('workloads/manifest.json'), 'utf8'),
);
const workloads = [...new Set(manifest.runs.map((r) => r.workload))];
const setting = (r: WorkloadRun) => `${r.executors}x${r.coresPerExecutor}x${r.executorMemoryMb}`;

describe('workload logs run under several executor settings (test/fixtures/workloads)', async () => {
  const models = new Map<string, ApplicationAttemptModel[]>();
  const failures: string[] = [];
  for (const run of manifest.runs) {
    const result = await eventLogCollector({ workers: 1 }).collect(fixture(`workloads/${run.file}`));
    failures.push(...result.failures.map((f) => `${run.file}: ${f.error.message}`));
    models.set(run.file, result.applications);
  }
  const model = (run: WorkloadRun) => models.get(run.file)![0]!;
  /** What must not depend on the executors: the stages, each one's task count, the tasks in all. */
  const shape = (m: ApplicationAttemptModel) => ({
    stages: m.stages.length,
    completedStageTasks: m.stages
      .filter((s) => s.status === 'COMPLETE')
      .map((s) => s.numTasks)
      .sort((a, b) => a - b),
    tasks: m.stats.tasks,
  });

  it('covers at least 3 workloads, each under several settings', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(3);
    for (const w of workloads) {
      const settings = new Set(manifest.runs.filter((r) => r.workload === w).map(setting));
      expect(settings.size, w).toBeGreaterThanOrEqual(4);
    }
  });

  it('reads every log without a failure', () => {
    expect(failures).toEqual([]);
  });

  for (const run of manifest.runs) {
    it(`${run.workload} ${setting(run)} (${run.appId}): one complete application, the executors of its setting, its wall clock`, () => {
      const apps = models.get(run.file)!;
      expect(apps.map((a) => a.appId)).toEqual([run.appId]);
      const m = apps[0]!;
      const attempt = m.application.attempts[0]!;
      expect(attempt.completed).toBe(true);
      expect(m.stats.malformedLines).toBe(0);
      expect(run.conf['spark.master']).toBe(
        `local-cluster[${run.executors},${run.coresPerExecutor},${run.executorMemoryMb}]`,
      );

      const executors = m.executors.filter((e) => e.id !== 'driver');
      expect(executors.length).toBe(run.executors);
      expect(executors.map((e) => e.totalCores)).toEqual(executors.map(() => run.coresPerExecutor));

      expect(attempt.duration).toBe(run.wallClockMs);
      expect(attempt.endTimeEpoch - attempt.startTimeEpoch).toBe(run.wallClockMs);
      expect(m.stats.tasks).toBe(run.tasks);
      expect(m.stages.filter((s) => s.status === 'COMPLETE').length).toBe(run.stagesCompleted);
      expect(m.stages.every((s) => s.numFailedTasks === 0)).toBe(true);
    });
  }

  for (const w of workloads) {
    it(`${w}: the same stages and tasks under every setting`, () => {
      const [first, ...rest] = manifest.runs.filter((r) => r.workload === w);
      const expected = shape(model(first!));
      expect(expected.tasks).toBeGreaterThan(0);
      for (const r of rest) {
        expect(shape(model(r)), `${setting(r)} against ${setting(first!)}`).toEqual(expected);
      }
    });
  }
});

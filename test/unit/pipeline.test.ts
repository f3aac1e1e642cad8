import { describe, expect, it } from 'vitest';
import { SparkpilotError } from '../../src/errors.js';
import {
  criticalPath,
  definePipeline,
  downstreamOf,
  type JobInput,
  PipelineError,
  type PipelineInput,
  topologicalOrder,
} from '../../src/orchestrate/pipeline.js';

const res = { executors: 2, coresPerExecutor: 4, executorMemory: '4g' } as const;
const job = (name: string, extra: Partial<JobInput> = {}): JobInput => ({
  name,
  application: { file: `${name}.py` },
  resources: res,
  ...extra,
});
const pipe = (jobs: JobInput[], extra: Partial<PipelineInput> = {}): PipelineInput => ({
  name: 'nightly',
  schedule: 'daily',
  jobs,
  ...extra,
});

function errorOf(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toBeInstanceOf(SparkpilotError);
    return err as PipelineError;
  }
  throw new Error('expected a PipelineError');
}

describe('definePipeline', () => {
  it('applies defaults and freezes the definition', () => {
    const def = definePipeline(pipe([job('a')]));
    expect(def.timezone).toBe('UTC');
    expect(def.maxActiveRuns).toBe(1);
    expect(def.catchup).toBe(true);
    expect(def.waitFor).toEqual([]);
    const a = def.jobs[0]!;
    expect(a.priority).toBe(0);
    expect(a.args).toEqual([]);
    expect(a.retries).toEqual({ attempts: 0, backoff: { initialMs: 10_000, factor: 2, maxMs: 600_000 } });
    expect(a.resources).toEqual({
      mode: 'explicit',
      executors: 2,
      coresPerExecutor: 4,
      executorMemory: '4g',
      executorMemoryMb: 4096,
      memoryOverheadMb: 410,
      driverMemoryMb: 1024,
    });
    expect(Object.isFrozen(def)).toBe(true);
    expect(Object.isFrozen(def.jobs[0])).toBe(true);
    expect(Object.isFrozen(def.upstream.a)).toBe(true);
  });

  it('parses auto resources with the default confidence and a main-class application', () => {
    const def = definePipeline(
      pipe([
        job('a', {
          application: { className: 'com.acme.Etl', jar: 'etl.jar' },
          resources: { mode: 'auto', fallback: { ...res, driverMemory: '2g', memoryOverhead: '512m' } },
        }),
      ]),
    );
    const r = def.jobs[0]!.resources;
    expect(r.mode).toBe('auto');
    if (r.mode !== 'auto') throw new Error('unreachable');
    expect(r.minConfidence).toBe(0.5);
    expect(r.fallback.driverMemoryMb).toBe(2048);
    expect(r.fallback.memoryOverheadMb).toBe(512);
    expect(def.jobs[0]!.application).toEqual({ className: 'com.acme.Etl', jar: 'etl.jar' });
  });

  it('derives edges from dependsOn and from datasets', () => {
    const def = definePipeline(
      pipe([
        job('ingest', { writes: ['raw.events'] }),
        job('clean', { reads: ['raw.events', 'ext.dim'], writes: ['clean.events'] }),
        job('report', { reads: ['clean.events'], dependsOn: ['ingest'] }),
      ]),
    );
    expect(def.edges).toEqual([
      { from: 'clean', to: 'report', reasons: [{ kind: 'dataset', dataset: 'clean.events' }] },
      { from: 'ingest', to: 'clean', reasons: [{ kind: 'dataset', dataset: 'raw.events' }] },
      { from: 'ingest', to: 'report', reasons: [{ kind: 'dependsOn' }] },
    ]);
    expect(def.upstream).toEqual({ ingest: [], clean: ['ingest'], report: ['clean', 'ingest'] });
    expect(def.downstream).toEqual({ ingest: ['clean', 'report'], clean: ['report'], report: [] });
  });

  it('lets a job read the dataset it writes without a self edge', () => {
    const def = definePipeline(pipe([job('inc', { reads: ['t'], writes: ['t'] })]));
    expect(def.edges).toEqual([]);
  });

  it('SPARKPILOT_PIPELINE_INVALID names the key path', () => {
    const err = errorOf(() =>
      definePipeline(pipe([job('a', { resources: { ...res, executors: 0 } })]) as PipelineInput),
    );
    expect(err.code).toBe('SPARKPILOT_PIPELINE_INVALID');
    expect(err.message.startsWith('[sparkpilot] [pipeline nightly]')).toBe(true);
    expect(err.message).toContain('jobs.0.resources');
    expect(err.message).toContain('Fix these keys');

    const typo = errorOf(() => definePipeline({ ...pipe([job('a')]), depends_on: [] } as PipelineInput));
    expect(typo.message).toContain('depends_on');

    const badName = errorOf(() => definePipeline(pipe([job('1bad')])));
    expect(badName.message).toContain('jobs.0.name');
  });

  it('SPARKPILOT_PIPELINE_DUPLICATE_JOB', () => {
    const err = errorOf(() => definePipeline(pipe([job('a'), job('a')])));
    expect(err.code).toBe('SPARKPILOT_PIPELINE_DUPLICATE_JOB');
    expect(err.message).toBe(
      '[sparkpilot] [pipeline nightly] job name "a" is used twice. Give each job of a pipeline its own name.',
    );
  });

  it('SPARKPILOT_PIPELINE_UNKNOWN_DEPENDENCY names the job and the missing name', () => {
    const err = errorOf(() => definePipeline(pipe([job('a'), job('b', { dependsOn: ['c'] })])));
    expect(err.code).toBe('SPARKPILOT_PIPELINE_UNKNOWN_DEPENDENCY');
    expect(err.message).toContain('job "b" depends on "c", which is not a job of this pipeline (jobs: a, b)');
  });

  it('SPARKPILOT_PIPELINE_CYCLE names the cycle path, including dataset edges', () => {
    const err = errorOf(() =>
      definePipeline(
        pipe([
          job('a', { dependsOn: ['c'] }),
          job('b', { dependsOn: ['a'], writes: ['x'] }),
          job('c', { reads: ['x'] }),
        ]),
      ),
    );
    expect(err.code).toBe('SPARKPILOT_PIPELINE_CYCLE');
    expect(err.message).toContain('cycle a -> b -> c -> a (c reads "x" written by b)');
    expect(err.message.startsWith('[sparkpilot] [pipeline nightly] ')).toBe(true);

    const self = errorOf(() => definePipeline(pipe([job('a', { dependsOn: ['a'] })])));
    expect(self.code).toBe('SPARKPILOT_PIPELINE_CYCLE');
    expect(self.message).toContain('cycle a -> a');
  });

  it('SPARKPILOT_PIPELINE_DATASET_CONFLICT names both writers', () => {
    const err = errorOf(() =>
      definePipeline(pipe([job('a', { writes: ['t'] }), job('b', { writes: ['t'] })])),
    );
    expect(err.code).toBe('SPARKPILOT_PIPELINE_DATASET_CONFLICT');
    expect(err.message).toContain('dataset "t" is written by two jobs, "a" and "b"');
  });

  it('SPARKPILOT_PIPELINE_SCHEDULE names the expression or the zone', () => {
    const cron = errorOf(() => definePipeline(pipe([job('a')], { schedule: { cron: '61 * * *' } })));
    expect(cron.code).toBe('SPARKPILOT_PIPELINE_SCHEDULE');
    expect(cron.message).toContain('cron "61 * * *"');
    const never = errorOf(() => definePipeline(pipe([job('a')], { schedule: { cron: '0 0 30 2 *' } })));
    expect(never.message).toContain('never fires');
    const tz = errorOf(() => definePipeline(pipe([job('a')], { timezone: 'Mars/Olympus' })));
    expect(tz.code).toBe('SPARKPILOT_PIPELINE_SCHEDULE');
    expect(tz.message).toContain('time zone "Mars/Olympus"');
  });

  it('rejects waiting for itself', () => {
    const err = errorOf(() =>
      definePipeline(pipe([job('a')], { waitFor: [{ pipeline: 'nightly', covering: 'interval' }] })),
    );
    expect(err.code).toBe('SPARKPILOT_PIPELINE_INVALID');
  });
});

describe('graph queries', () => {
  const def = definePipeline(
    pipe([
      job('report', { reads: ['clean'] }),
      job('clean', { reads: ['raw'], writes: ['clean'] }),
      job('ingest', { writes: ['raw'] }),
      job('audit', { dependsOn: ['ingest'] }),
      job('urgent', { priority: 5, dependsOn: ['ingest'] }),
      job('alone'),
    ]),
  );

  it('orders topologically by priority, then name', () => {
    expect(topologicalOrder(def).map((j) => j.name)).toEqual([
      'alone',
      'ingest',
      'urgent',
      'audit',
      'clean',
      'report',
    ]);
  });

  it('lists everything downstream', () => {
    expect(downstreamOf(def, 'ingest')).toEqual(['urgent', 'audit', 'clean', 'report']);
    expect(downstreamOf(def, 'clean')).toEqual(['report']);
    expect(downstreamOf(def, 'alone')).toEqual([]);
    expect(errorOf(() => downstreamOf(def, 'nope')).code).toBe('SPARKPILOT_PIPELINE_UNKNOWN_JOB');
  });

  it('finds the critical path', () => {
    const durations = { report: 10, clean: 30, ingest: 20, audit: 100, urgent: 5, alone: 60 };
    expect(criticalPath(def, durations)).toEqual({ jobs: ['ingest', 'audit'], durationMs: 120 });
    expect(criticalPath(def, { ...durations, audit: 1, alone: 6 })).toEqual({
      jobs: ['ingest', 'clean', 'report'],
      durationMs: 60,
    });
    const err = errorOf(() => criticalPath(def, { report: 1 }));
    expect(err.message).toContain('"clean"');
  });
});

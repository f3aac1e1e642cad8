/**
 * Pipeline definitions: the first part of the orchestrator.
 *
 * A pipeline is a set of Spark jobs that depend on each other, run on a schedule. {@link definePipeline}
 * validates a definition once, at the edge (shape with zod, then meaning: unique names, known dependencies,
 * one writer per dataset, no cycles, a schedule that parses), and returns a frozen {@link PipelineDefinition}
 * with the resolved dependency graph. Nothing here runs a job.
 *
 * @module
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { PipelineError } from '../errors.js';
import { formatZodIssues } from '../util/zod.js';

export { PipelineError } from '../errors.js';

/** The message prefix of every pipeline error: `[sparkpilot] [pipeline <name>]`. */
export function pipelinePrefix(name: string | undefined): string {
  return `[sparkpilot] [pipeline ${name ?? '?'}]`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SPARK_SIZE = /^(\d+)([kmgt])?b?$/i;

/** A job or pipeline name: starts with a letter or `_`, then letters, digits, `_`, `-` or `.`; at most 128. */
export const identifierSchema = z
  .string()
  .max(128)
  .regex(IDENTIFIER, 'must start with a letter or "_" and hold only letters, digits, "_", "-" and "."');

/** Mebibytes of a Spark size such as `4g`, `512m`, `1t` (a bare number is MiB, as Spark reads memory settings). */
export function sparkSizeToMb(size: string): number {
  const m = SPARK_SIZE.exec(size.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  switch ((m[2] ?? 'm').toLowerCase()) {
    case 'k':
      return Math.ceil(n / 1024);
    case 'g':
      return n * 1024;
    case 't':
      return n * 1024 * 1024;
    default:
      return n;
  }
}

const sparkSizeSchema = z
  .string()
  .regex(SPARK_SIZE, 'must be a Spark size such as "4g" or "512m"')
  .refine((s) => sparkSizeToMb(s) > 0, 'must be more than 0');

/**
 * Explicit resources for a job. Field names follow the recommender's `ResourceSettings`; memory is written
 * the way Spark reads it (`'4g'`) and the parsed result also carries the MiB values (`executorMemoryMb`,
 * `memoryOverheadMb`, `driverMemoryMb`), with Spark's defaults where not given (overhead: 10% of executor
 * memory, at least 384 MiB; driver: 1 GiB).
 */
export const explicitResourcesSchema = z
  .strictObject({
    mode: z.literal('explicit').default('explicit'),
    executors: z.int().min(1),
    coresPerExecutor: z.int().min(1),
    /** `spark.executor.memory`, e.g. `'4g'`. */
    executorMemory: sparkSizeSchema,
    /** `spark.executor.memoryOverhead`. */
    memoryOverhead: sparkSizeSchema.optional(),
    /** `spark.driver.memory`. */
    driverMemory: sparkSizeSchema.optional(),
    /** `spark.sql.shuffle.partitions`. */
    shufflePartitions: z.int().min(1).optional(),
    /** Dynamic allocation: `executors` is then the most it may scale to, `minExecutors` the floor. */
    dynamicAllocation: z.strictObject({ minExecutors: z.int().min(0) }).optional(),
  })
  .refine((r) => r.dynamicAllocation === undefined || r.dynamicAllocation.minExecutors <= r.executors, {
    message: 'dynamicAllocation.minExecutors must not exceed executors',
    path: ['dynamicAllocation', 'minExecutors'],
  })
  .transform((r) => {
    const executorMemoryMb = sparkSizeToMb(r.executorMemory);
    return {
      ...r,
      executorMemoryMb,
      memoryOverheadMb:
        r.memoryOverhead !== undefined
          ? sparkSizeToMb(r.memoryOverhead)
          : Math.max(384, Math.ceil(executorMemoryMb * 0.1)),
      driverMemoryMb: r.driverMemory !== undefined ? sparkSizeToMb(r.driverMemory) : 1024,
    };
  });
/** Explicit resources as written. */
export type ExplicitResourcesInput = z.input<typeof explicitResourcesSchema>;
/** Explicit resources as parsed (with MiB values). */
export type ExplicitResources = z.output<typeof explicitResourcesSchema>;

/**
 * Resources chosen at run time from the job's recommendation when its confidence is at least
 * `minConfidence` (default 0.5); otherwise `fallback` is used.
 */
export const autoResourcesSchema = z.strictObject({
  mode: z.literal('auto'),
  minConfidence: z.number().min(0).max(1).default(0.5),
  fallback: explicitResourcesSchema,
});
/** Automatic resources as written. */
export type AutoResourcesInput = z.input<typeof autoResourcesSchema>;
/** Automatic resources as parsed. */
export type AutoResources = z.output<typeof autoResourcesSchema>;

/** A job's resources: `{ mode: 'auto', fallback, minConfidence? }` or explicit settings. */
export const resourcesSchema = z.union([autoResourcesSchema, explicitResourcesSchema]);
/** Resources as written. */
export type ResourcesInput = z.input<typeof resourcesSchema>;
/** Resources as parsed; switch on `mode`. */
export type Resources = z.output<typeof resourcesSchema>;

/** What a job runs: a Python or JAR file, or a main class in a JAR. */
export const applicationSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ className: z.string().min(1), jar: z.string().min(1) }),
]);
/** A job's application. */
export type Application = z.output<typeof applicationSchema>;

/** Exponential backoff between attempts: `initialMs * factor^(n-1)`, at most `maxMs`. */
export const backoffSchema = z
  .strictObject({
    initialMs: z.int().min(0).default(10_000),
    factor: z.number().min(1).default(2),
    maxMs: z.int().min(0).default(600_000),
  })
  .refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must be at least initialMs', path: ['maxMs'] });

/** Retries of a failed job: `attempts` more tries (default 0) with backoff. */
export const retriesSchema = z.strictObject({
  attempts: z.int().min(0).default(0),
  backoff: backoffSchema.prefault({}),
});

/** One Spark job of a pipeline. */
export const jobSchema = z.strictObject({
  /** Unique in its pipeline. */
  name: identifierSchema,
  application: applicationSchema,
  /** Application arguments; may hold templates such as `{{ ds }}`. */
  args: z.array(z.string()).default([]),
  /** Spark properties; values may hold templates. */
  properties: z.record(z.string().min(1), z.string()).default({}),
  resources: resourcesSchema,
  retries: retriesSchema.prefault({}),
  timeoutMs: z.int().min(1).optional(),
  /** Among jobs ready at once, higher runs first (default 0). */
  priority: z.int().default(0),
  /** A named pool of the orchestrator (its `concurrency.pools` bounds how many jobs of the pool run at once). */
  pool: z.string().min(1).optional(),
  /** Datasets read: a job that writes one of them in this pipeline runs first. */
  reads: z.array(z.string().min(1)).default([]),
  /** Datasets written: at most one job of a pipeline writes a dataset. */
  writes: z.array(z.string().min(1)).default([]),
  /** Jobs of this pipeline that must succeed first. */
  dependsOn: z.array(identifierSchema).default([]),
  /** The orchestrator's adapter to submit through (a key of its `adapters`; default `default`). */
  adapter: z.string().min(1).optional(),
});
/** A job as written. */
export type JobInput = z.input<typeof jobSchema>;
/** A job as parsed, with defaults. */
export type Job = z.output<typeof jobSchema>;

/** When a pipeline runs: a calendar unit in the pipeline's time zone, or a cron expression (5 or 6 fields). */
export const scheduleSchema = z.union([
  z.enum(['hourly', 'daily', 'monthly']),
  z.strictObject({ cron: z.string().min(1) }),
]);
/** A schedule. */
export type Schedule = z.output<typeof scheduleSchema>;

/** Another pipeline's runs that must have succeeded for every part of this run's interval. */
export const waitForSchema = z.strictObject({
  pipeline: identifierSchema,
  covering: z.literal('interval').default('interval'),
});
/** A cross-pipeline wait. */
export type WaitFor = z.output<typeof waitForSchema>;

/** A pipeline as written. */
export const pipelineSchema = z.strictObject({
  name: identifierSchema,
  schedule: scheduleSchema,
  /** IANA time zone the schedule is read in (default `UTC`). */
  timezone: z.string().min(1).default('UTC'),
  jobs: z.array(jobSchema).min(1),
  waitFor: z.array(waitForSchema).default([]),
  /** Runs of this pipeline at once (default 1). */
  maxActiveRuns: z.int().min(1).default(1),
  /** Run the intervals missed since the last run (default true). */
  catchup: z.boolean().default(true),
  /**
   * The first data interval starts at or after this instant. Without it, a pipeline with no run yet starts
   * with the latest interval that has ended.
   */
  start: z.coerce.date().optional(),
});
/** A pipeline as written. */
export type PipelineInput = z.input<typeof pipelineSchema>;
/** A pipeline as parsed, before the semantic checks. */
export type PipelineOutput = z.output<typeof pipelineSchema>;

/** Why one job runs after another. */
export type EdgeReason = { kind: 'dependsOn' } | { kind: 'dataset'; dataset: string };

/** `to` runs after `from`. */
export interface PipelineEdge {
  readonly from: string;
  readonly to: string;
  /** Every reason for the edge (a `dependsOn` and one entry per shared dataset). */
  readonly reasons: readonly EdgeReason[];
}

/** A validated, frozen pipeline with its dependency graph. */
export interface PipelineDefinition extends Readonly<Omit<PipelineOutput, 'jobs' | 'waitFor'>> {
  readonly jobs: readonly Readonly<Job>[];
  readonly waitFor: readonly Readonly<WaitFor>[];
  /** Edges sorted by `from`, then `to`. */
  readonly edges: readonly PipelineEdge[];
  /** Direct upstream jobs of each job (sorted names). */
  readonly upstream: Readonly<Record<string, readonly string[]>>;
  /** Direct downstream jobs of each job (sorted names). */
  readonly downstream: Readonly<Record<string, readonly string[]>>;
}

const timeZoneOk = new Map<string, boolean>();

/**
 * Throws a `SPARKPILOT_PIPELINE_SCHEDULE` `PipelineError` when the time zone is not an IANA zone known
 * to this runtime, or the cron expression does not parse or never fires.
 */
export function assertValidSchedule(schedule: Schedule, timezone: string, pipeline?: string): void {
  const prefix = pipelinePrefix(pipeline);
  let ok = timeZoneOk.get(timezone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      ok = true;
    } catch {
      ok = false;
    }
    timeZoneOk.set(timezone, ok);
  }
  if (!ok) {
    throw new PipelineError(
      'SPARKPILOT_PIPELINE_SCHEDULE',
      `${prefix} time zone "${timezone}" is not an IANA time zone known to this runtime. Use a name such as "UTC" or "Europe/Paris".`,
    );
  }
  if (typeof schedule === 'string') return;
  let next: Date | null;
  try {
    next = new Cron(schedule.cron, { timezone, paused: true }).nextRun(new Date(0));
  } catch (err) {
    throw new PipelineError(
      'SPARKPILOT_PIPELINE_SCHEDULE',
      `${prefix} cron "${schedule.cron}": ${(err as Error).message}. Write 5 fields (minute hour day month weekday) or 6 (with seconds first).`,
      { cause: err },
    );
  }
  if (next === null) {
    throw new PipelineError(
      'SPARKPILOT_PIPELINE_SCHEDULE',
      `${prefix} cron "${schedule.cron}" never fires. Check the day and month fields (e.g. February 30 does not exist).`,
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function fail(code: string, name: string | undefined, message: string, cause?: unknown): never {
  throw new PipelineError(code, `${pipelinePrefix(name)} ${message}`, { cause });
}

/**
 * Validate a pipeline and resolve its dependency graph.
 *
 * Edges come from `dependsOn` and from datasets: a job that reads a dataset another job of the pipeline
 * writes runs after it (a dataset nobody in the pipeline writes is an external input).
 *
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_INVALID` (shape; names the key path),
 * `SPARKPILOT_PIPELINE_DUPLICATE_JOB`, `SPARKPILOT_PIPELINE_UNKNOWN_DEPENDENCY`,
 * `SPARKPILOT_PIPELINE_DATASET_CONFLICT` (two writers of one dataset), `SPARKPILOT_PIPELINE_CYCLE`
 * (names the path `a -> b -> a`), `SPARKPILOT_PIPELINE_SCHEDULE`.
 *
 * @example
 * ```ts
 * const nightly = definePipeline({
 *   name: 'nightly',
 *   schedule: 'daily',
 *   timezone: 'Europe/Paris',
 *   jobs: [
 *     { name: 'ingest', application: { file: 'ingest.py' }, args: ['--day', '{{ ds }}'],
 *       resources: { executors: 4, coresPerExecutor: 4, executorMemory: '8g' }, writes: ['raw.events'] },
 *     { name: 'report', application: { file: 'report.py' }, reads: ['raw.events'],
 *       resources: { mode: 'auto', fallback: { executors: 2, coresPerExecutor: 2, executorMemory: '4g' } } },
 *   ],
 * });
 * nightly.upstream.report; // ['ingest']
 * ```
 */
export function definePipeline(input: PipelineInput): PipelineDefinition {
  const rawName =
    input && typeof input === 'object' && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : undefined;
  const parsed = pipelineSchema.safeParse(input);
  if (!parsed.success) {
    fail(
      'SPARKPILOT_PIPELINE_INVALID',
      rawName,
      `invalid definition: ${formatZodIssues(parsed.error, input)}. Fix these keys of the definition.`,
      parsed.error,
    );
  }
  const p = parsed.data;
  const name = p.name;

  const byName = new Map<string, Job>();
  for (const job of p.jobs) {
    if (byName.has(job.name)) {
      fail(
        'SPARKPILOT_PIPELINE_DUPLICATE_JOB',
        name,
        `job name "${job.name}" is used twice. Give each job of a pipeline its own name.`,
      );
    }
    byName.set(job.name, job);
  }

  const edges = new Map<string, { from: string; to: string; reasons: EdgeReason[] }>();
  const addEdge = (from: string, to: string, reason: EdgeReason): void => {
    const key = `${from}\u0000${to}`;
    let e = edges.get(key);
    if (!e) edges.set(key, (e = { from, to, reasons: [] }));
    e.reasons.push(reason);
  };

  for (const job of p.jobs) {
    for (const dep of new Set(job.dependsOn)) {
      if (dep === job.name) {
        fail(
          'SPARKPILOT_PIPELINE_CYCLE',
          name,
          `cycle ${dep} -> ${dep}: job "${dep}" depends on itself. Remove "${dep}" from its dependsOn.`,
        );
      }
      if (!byName.has(dep)) {
        const known = [...byName.keys()].sort().join(', ');
        fail(
          'SPARKPILOT_PIPELINE_UNKNOWN_DEPENDENCY',
          name,
          `job "${job.name}" depends on "${dep}", which is not a job of this pipeline (jobs: ${known}). Fix the name or add the job; to wait for another pipeline use waitFor.`,
        );
      }
      addEdge(dep, job.name, { kind: 'dependsOn' });
    }
  }

  const writers = new Map<string, string>();
  for (const job of p.jobs) {
    for (const ds of new Set(job.writes)) {
      const other = writers.get(ds);
      if (other !== undefined) {
        fail(
          'SPARKPILOT_PIPELINE_DATASET_CONFLICT',
          name,
          `dataset "${ds}" is written by two jobs, "${other}" and "${job.name}". Let one job write it, or name the datasets apart.`,
        );
      }
      writers.set(ds, job.name);
    }
  }
  for (const job of p.jobs) {
    for (const ds of new Set(job.reads)) {
      const writer = writers.get(ds);
      if (writer !== undefined && writer !== job.name)
        addEdge(writer, job.name, { kind: 'dataset', dataset: ds });
    }
  }

  for (const w of p.waitFor) {
    if (w.pipeline === name) {
      fail(
        'SPARKPILOT_PIPELINE_INVALID',
        name,
        `waitFor names the pipeline itself. Remove it; maxActiveRuns and catchup order a pipeline's own runs.`,
      );
    }
  }

  assertValidSchedule(p.schedule, p.timezone, name);

  const sortedEdges = [...edges.values()].sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to));
  const upstream: Record<string, string[]> = {};
  const downstream: Record<string, string[]> = {};
  for (const n of byName.keys()) {
    upstream[n] = [];
    downstream[n] = [];
  }
  for (const e of sortedEdges) {
    upstream[e.to]!.push(e.from);
    downstream[e.from]!.push(e.to);
  }
  for (const n of byName.keys()) upstream[n]!.sort(cmp);

  const cycle = findCycle([...byName.keys()].sort(cmp), downstream);
  if (cycle) {
    const viaData = cycle
      .slice(0, -1)
      .map((from, i) => edges.get(`${from}\u0000${cycle[i + 1]}`)!)
      .filter((e) => e.reasons.every((r) => r.kind === 'dataset'))
      .map((e) => {
        const ds = e.reasons.map((r) => (r.kind === 'dataset' ? `"${r.dataset}"` : '')).join(', ');
        return `${e.to} reads ${ds} written by ${e.from}`;
      });
    fail(
      'SPARKPILOT_PIPELINE_CYCLE',
      name,
      `cycle ${cycle.join(' -> ')}${viaData.length ? ` (${viaData.join('; ')})` : ''}. Remove one dependsOn or dataset read on the path.`,
    );
  }

  return deepFreeze({
    ...p,
    edges: sortedEdges,
    upstream,
    downstream,
  }) as PipelineDefinition;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A cycle as a closed path `[a, b, c, a]`, or undefined. Deterministic: jobs and edges in name order. */
function findCycle(names: readonly string[], next: Record<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of next[n] ?? []) {
      const s = state.get(m);
      if (s === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (s === undefined) {
        const found = visit(m);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of names) {
    if (state.get(n) === undefined) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}

function jobOf(def: PipelineDefinition, job: string): Readonly<Job> {
  const found = def.jobs.find((j) => j.name === job);
  if (!found) {
    fail(
      'SPARKPILOT_PIPELINE_UNKNOWN_JOB',
      def.name,
      `no job "${job}" (jobs: ${def.jobs
        .map((j) => j.name)
        .sort(cmp)
        .join(', ')}). Use one of these names.`,
    );
  }
  return found;
}

/**
 * The jobs in an order that respects every dependency; among jobs whose dependencies are all placed, the
 * highest `priority` comes first, then the name.
 *
 * @example
 * ```ts
 * topologicalOrder(nightly).map((j) => j.name); // ['ingest', 'report']
 * ```
 */
export function topologicalOrder(def: PipelineDefinition): readonly Readonly<Job>[] {
  const byName = new Map(def.jobs.map((j) => [j.name, j]));
  const waiting = new Map(def.jobs.map((j) => [j.name, def.upstream[j.name]?.length ?? 0]));
  const before = (a: Readonly<Job>, b: Readonly<Job>): number =>
    b.priority - a.priority || cmp(a.name, b.name);
  const ready = def.jobs.filter((j) => waiting.get(j.name) === 0);
  const order: Readonly<Job>[] = [];
  while (ready.length > 0) {
    ready.sort(before);
    const job = ready.shift()!;
    order.push(job);
    for (const d of def.downstream[job.name] ?? []) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) ready.push(byName.get(d)!);
    }
  }
  return order;
}

/**
 * Every job that depends on `job`, directly or transitively, in {@link topologicalOrder}. What must run
 * again when `job` is re-run.
 *
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_UNKNOWN_JOB` when the pipeline has no such job.
 */
export function downstreamOf(def: PipelineDefinition, job: string): string[] {
  jobOf(def, job);
  const seen = new Set<string>();
  const todo = [job];
  while (todo.length > 0) {
    for (const d of def.downstream[todo.pop()!] ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        todo.push(d);
      }
    }
  }
  return topologicalOrder(def)
    .map((j) => j.name)
    .filter((n) => seen.has(n));
}

/** The longest chain of dependent jobs by duration. */
export interface CriticalPath {
  /** Job names, first to last. */
  jobs: string[];
  /** The sum of their durations. */
  durationMs: number;
}

/**
 * The chain of dependent jobs with the longest total duration: the least time a run can take with unlimited
 * parallelism. Ties go to the chain found first in {@link topologicalOrder}.
 *
 * @param durations Expected duration of each job, ms (e.g. from past runs).
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_INVALID` naming the jobs without a duration.
 */
export function criticalPath(
  def: PipelineDefinition,
  durations: Readonly<Record<string, number>>,
): CriticalPath {
  const missing = def.jobs.map((j) => j.name).filter((n) => !Number.isFinite(durations[n]));
  if (missing.length > 0) {
    fail(
      'SPARKPILOT_PIPELINE_INVALID',
      def.name,
      `no duration for ${missing.map((n) => `"${n}"`).join(', ')}. Pass a finite number of ms for every job.`,
    );
  }
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  let last: string | undefined;
  for (const { name } of topologicalOrder(def)) {
    let start = 0;
    let from: string | undefined;
    for (const u of def.upstream[name] ?? []) {
      const f = finish.get(u)!;
      if (from === undefined || f > start) {
        start = f;
        from = u;
      }
    }
    const end = start + durations[name]!;
    finish.set(name, end);
    via.set(name, from);
    if (last === undefined || end > finish.get(last)!) last = name;
  }
  const jobs: string[] = [];
  for (let n = last; n !== undefined; n = via.get(n)) jobs.unshift(n);
  return { jobs, durationMs: last === undefined ? 0 : finish.get(last)! };
}

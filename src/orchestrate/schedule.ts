/**
 * Schedules and data intervals: the first part of the orchestrator.
 *
 * Each run of a pipeline covers a data interval `[start, end)` and fires when the interval ends. `hourly`,
 * `daily` and `monthly` intervals follow the wall clock of the pipeline's time zone, so a daily pipeline in
 * `Europe/Paris` has a 23-hour day in March and a 25-hour day in October. A cron schedule's interval runs from
 * one fire time to the next (fire times computed by croner in the time zone).
 *
 * @module
 */
import { Cron } from 'croner';
import { assertValidSchedule, type Job, PipelineError, pipelinePrefix, type Schedule } from './pipeline.js';

/** The data a run covers: from `start` (inclusive) to `end` (exclusive). */
export interface DataInterval {
  start: Date;
  end: Date;
}

/** Options of the schedule functions. */
export interface ScheduleOptions {
  /** The pipeline's name, for error messages. */
  pipeline?: string;
}

type Unit = 'hourly' | 'daily' | 'monthly';

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall clock of `tz` at instant `t`, as ms since the epoch read as UTC (whole seconds). */
function localMs(t: number, tz: string): number {
  const v = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(tz).formatToParts(t)) {
    if (p.type in v) v[p.type as keyof typeof v] = Number(p.value);
  }
  return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second);
}

/** The zone's offset from UTC at `t`, ms. */
function offset(t: number, tz: string): number {
  const s = Math.floor(t / 1000) * 1000;
  return localMs(s, tz) - s;
}

/** Local wall time truncated to the unit. */
function truncate(local: number, unit: Unit): number {
  const d = new Date(local);
  if (unit === 'hourly')
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours());
  if (unit === 'daily') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the next wall-clock unit after local wall time `local`. */
function nextWall(local: number, unit: Unit): number {
  const d = new Date(truncate(local, unit));
  if (unit === 'hourly') return d.getTime() + 3_600_000;
  if (unit === 'daily') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The first instant in `(lo, hi]` whose offset differs from the offset at `lo` (one exists). */
function transitionIn(lo: number, hi: number, tz: string): number {
  const o = offset(lo, tz);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offset(mid, tz) === o) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The first unit start strictly after `t` (assumes at most one offset change inside one unit). */
function nextCalendarBoundary(t: number, unit: Unit, tz: string): number {
  const o1 = offset(t, tz);
  const a = nextWall(t + o1, unit) - o1;
  if (offset(a, tz) === o1) return a;
  const at = transitionIn(t, a, tz);
  const o2 = offset(at, tz);
  const local = at + o2;
  const changed = truncate(local, unit) !== truncate(at - 1000 + o1, unit);
  if (changed || (unit === 'hourly' && local % 3_600_000 === 0)) return at;
  return nextWall(local, unit) - o2;
}

/** The last unit start at or before `t`. */
function calendarFloor(t: number, unit: Unit, tz: string): number {
  const o = offset(t, tz);
  const margin = unit === 'hourly' ? 4 * 3_600_000 : 30 * 3_600_000;
  let b = truncate(t + o, unit) - o - margin;
  for (let n = nextCalendarBoundary(b, unit, tz); n <= t; n = nextCalendarBoundary(b, unit, tz)) b = n;
  return b;
}

const crons = new Map<string, Cron>();
function cronOf(expression: string, tz: string): Cron {
  const key = `${tz}\u0000${expression}`;
  let c = crons.get(key);
  if (!c) {
    if (crons.size >= 256) crons.clear();
    c = new Cron(expression, { timezone: tz, paused: true });
    crons.set(key, c);
  }
  return c;
}

interface Boundaries {
  /** The first boundary strictly after `t`. */
  next(t: number): number;
  /** The last boundary at or before `t`. */
  floor(t: number): number;
}

function boundaries(schedule: Schedule, tz: string, options: ScheduleOptions): Boundaries {
  assertValidSchedule(schedule, tz, options.pipeline);
  if (typeof schedule === 'string') {
    return {
      next: (t) => nextCalendarBoundary(t, schedule, tz),
      floor: (t) => calendarFloor(t, schedule, tz),
    };
  }
  const cron = cronOf(schedule.cron, tz);
  const noFire = (): never => {
    throw new PipelineError(
      'SPARKPILOT_PIPELINE_SCHEDULE',
      `${pipelinePrefix(options.pipeline)} cron "${schedule.cron}" has no fire time in the range asked for. Check the expression.`,
    );
  };
  const next = (t: number): number => cron.nextRun(new Date(t))?.getTime() ?? noFire();
  return {
    next,
    floor(t) {
      // croner looks forward only: search back from windows that double until one holds a fire time.
      for (let w = 60_000; w <= 400 * 86_400_000 * 8; w *= 2) {
        let last: number | undefined;
        for (let f = cron.nextRun(new Date(t - w))?.getTime(); f !== undefined && f <= t; ) {
          last = f;
          f = cron.nextRun(new Date(f))?.getTime();
        }
        if (last !== undefined) return last;
      }
      return noFire();
    },
  };
}

/**
 * Every interval `[start, end)` with `start >= from` and `end <= to`, oldest first: the runs a pipeline
 * with `catchup` owes for that span.
 *
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_SCHEDULE` for a bad time zone or cron expression.
 * @example
 * ```ts
 * intervalsBetween('daily', 'Europe/Paris', new Date('2025-03-29T23:00:00Z'), new Date('2025-03-31T22:00:00Z'));
 * // [{ start: 2025-03-29T23:00Z, end: 2025-03-30T22:00Z }, { start: 2025-03-30T22:00Z, end: 2025-03-31T22:00Z }]
 * ```
 */
export function intervalsBetween(
  schedule: Schedule,
  timezone: string,
  from: Date,
  to: Date,
  options: ScheduleOptions = {},
): DataInterval[] {
  const b = boundaries(schedule, timezone, options);
  const out: DataInterval[] = [];
  let start = b.floor(from.getTime());
  if (start < from.getTime()) start = b.next(start);
  for (let end = b.next(start); end <= to.getTime(); end = b.next(start)) {
    out.push({ start: new Date(start), end: new Date(end) });
    start = end;
  }
  return out;
}

/**
 * The latest interval that has ended at or before `t`: the run that became due last.
 *
 * @example
 * ```ts
 * intervalEndingAtOrBefore('hourly', 'UTC', new Date('2025-01-01T10:30:00Z'));
 * // { start: 2025-01-01T09:00Z, end: 2025-01-01T10:00Z }
 * ```
 */
export function intervalEndingAtOrBefore(
  schedule: Schedule,
  timezone: string,
  t: Date,
  options: ScheduleOptions = {},
): DataInterval {
  const b = boundaries(schedule, timezone, options);
  const end = b.floor(t.getTime());
  return { start: new Date(b.floor(end - 1)), end: new Date(end) };
}

/** When the next run fires after `after` (strictly): the end of the interval that ends next. */
export function nextFireTime(
  schedule: Schedule,
  timezone: string,
  after: Date,
  options: ScheduleOptions = {},
): Date {
  return new Date(boundaries(schedule, timezone, options).next(after.getTime()));
}

/** What a template may refer to. */
export interface TemplateVars {
  /** The pipeline's name: `{{ pipeline }}`. */
  pipeline: string;
  /** The pipeline's time zone, for `{{ ds }}` (default `UTC`). */
  timezone?: string;
  /** `{{ interval.start }}` and `{{ interval.end }}` (ISO 8601, UTC). */
  interval: DataInterval;
  /** `{{ run.id }}`. */
  run: { id: string };
}

/** The date `YYYY-MM-DD` of instant `t` in time zone `tz`. */
export function dateInZone(t: Date, tz: string): string {
  return new Date(localMs(t.getTime(), tz)).toISOString().slice(0, 10);
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The variable names a template may use. */
export const TEMPLATE_VARIABLES = ['interval.start', 'interval.end', 'ds', 'run.id', 'pipeline'] as const;

/**
 * Replace `{{ interval.start }}`, `{{ interval.end }}` (ISO 8601, UTC), `{{ ds }}` (the interval's start date
 * `YYYY-MM-DD` in the pipeline's time zone), `{{ run.id }}` and `{{ pipeline }}`.
 *
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_TEMPLATE` naming an unknown variable (never rendered empty).
 * @example
 * ```ts
 * renderTemplate('s3://lake/events/dt={{ ds }}', vars); // 's3://lake/events/dt=2025-03-30'
 * ```
 */
export function renderTemplate(text: string, vars: TemplateVars): string {
  return text.replace(TEMPLATE, (_match, name: string) => {
    switch (name) {
      case 'interval.start':
        return vars.interval.start.toISOString();
      case 'interval.end':
        return vars.interval.end.toISOString();
      case 'ds':
        return dateInZone(vars.interval.start, vars.timezone ?? 'UTC');
      case 'run.id':
        return vars.run.id;
      case 'pipeline':
        return vars.pipeline;
      default:
        throw new PipelineError(
          'SPARKPILOT_PIPELINE_TEMPLATE',
          `${pipelinePrefix(vars.pipeline)} unknown template variable "${name}" in "${text}". Use one of: ${TEMPLATE_VARIABLES.join(', ')}.`,
        );
    }
  });
}

/**
 * A copy of the job with templates in its `args` and `properties` values rendered.
 *
 * @throws `PipelineError` `SPARKPILOT_PIPELINE_TEMPLATE` naming the job and the argument or property.
 */
export function renderJob<J extends Pick<Job, 'name' | 'args' | 'properties'>>(
  job: J,
  vars: TemplateVars,
): J {
  const render = (text: string, where: string): string => {
    try {
      return renderTemplate(text, vars);
    } catch (err) {
      if (!(err instanceof PipelineError)) throw err;
      throw new PipelineError(
        err.code,
        err.message.replace(
          pipelinePrefix(vars.pipeline),
          `${pipelinePrefix(vars.pipeline)} job "${job.name}" ${where}:`,
        ),
        { cause: err },
      );
    }
  };
  return {
    ...job,
    args: job.args.map((a, i) => render(a, `args[${i}]`)),
    properties: Object.fromEntries(
      Object.entries(job.properties).map(([k, v]) => [k, render(v, `property "${k}"`)]),
    ),
  };
}

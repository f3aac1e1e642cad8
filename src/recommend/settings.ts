/**
 * Resource settings: read from a run's Spark properties and executors, written back as Spark properties,
 * priced, enumerated as candidates, and filtered to the time-against-cost front.
 * @module
 */
import { sparkProperty } from '../analyze/analyzer.js';
import { maxConcurrentSlots, slotSpans } from '../analyze/timeline.js';
import { parseSparkBytes } from '../analyze/units.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { Candidate, Objective, Prediction, Pricing, ResourceSettings } from './recommender.js';

const MIB = 1024 * 1024;

/** MiB as Spark writes a memory property: `4g` when whole gibibytes, else `1536m`. */
export function formatMb(mb: number): string {
  const whole = Math.ceil(mb);
  return whole % 1024 === 0 ? `${whole / 1024}g` : `${whole}m`;
}

/** Spark's default memory overhead: 10% of the executor memory, at least 384 MiB. */
export function defaultOverheadMb(executorMemoryMb: number, factor = 0.1): number {
  return Math.max(384, Math.ceil(executorMemoryMb * factor));
}

/** The settings a run had: executors alive at once, cores and memory per executor, overhead, driver memory. */
export function settingsOf(model: ApplicationAttemptModel): ResourceSettings {
  const prop = (k: string) => sparkProperty(model, k);
  const workers = model.executors.filter((e) => e.id !== 'driver');
  const local = workers.length === 0;
  const coresProp = Number(prop('spark.executor.cores'));
  const cores = local
    ? Math.max(1, model.executors.find((e) => e.id === 'driver')?.totalCores ?? 1)
    : Number.isFinite(coresProp) && coresProp > 0
      ? coresProp
      : Math.max(1, ...workers.map((e) => e.totalCores));
  const mb = (k: string, fallback: number) => {
    const b = parseSparkBytes(prop(k), 'm');
    return b !== undefined ? Math.round(b / MIB) : fallback;
  };
  const executorMemoryMb = local ? mb('spark.driver.memory', 1024) : mb('spark.executor.memory', 1024);
  const overheadFactor = Number(prop('spark.executor.memoryOverheadFactor') ?? '0.1');
  const settings: ResourceSettings = {
    executors: local ? 1 : maxAlive(model),
    coresPerExecutor: cores,
    executorMemoryMb,
    memoryOverheadMb: mb(
      'spark.executor.memoryOverhead',
      defaultOverheadMb(executorMemoryMb, Number.isFinite(overheadFactor) ? overheadFactor : 0.1),
    ),
    driverMemoryMb: mb('spark.driver.memory', 1024),
  };
  if (prop('spark.dynamicAllocation.enabled') === 'true') {
    const min = Number(prop('spark.dynamicAllocation.minExecutors') ?? '0');
    settings.dynamicAllocation = { minExecutors: Number.isInteger(min) && min >= 0 ? min : 0 };
  }
  const partitions = Number(prop('spark.sql.shuffle.partitions'));
  if (Number.isInteger(partitions) && partitions > 0) settings.shufflePartitions = partitions;
  return settings;
}

/** The most executors (not the driver) alive at the same time. */
function maxAlive(model: ApplicationAttemptModel): number {
  const executors = slotSpans(model).filter((s) => s.executorId !== 'driver');
  return Math.max(1, maxConcurrentSlots(executors.map((s) => ({ ...s, cores: 1 }))));
}

/**
 * The Spark properties that set `s`: a static executor count, or, when `s.dynamicAllocation` is set,
 * dynamic allocation between its floor and `s.executors`.
 */
export function propertiesOf(s: ResourceSettings): Record<string, string> {
  const p: Record<string, string> = s.dynamicAllocation
    ? {
        'spark.dynamicAllocation.enabled': 'true',
        'spark.dynamicAllocation.minExecutors': String(s.dynamicAllocation.minExecutors),
        'spark.dynamicAllocation.maxExecutors': String(s.executors),
      }
    : { 'spark.executor.instances': String(s.executors), 'spark.dynamicAllocation.enabled': 'false' };
  Object.assign(p, {
    'spark.executor.cores': String(s.coresPerExecutor),
    'spark.executor.memory': formatMb(s.executorMemoryMb),
    'spark.executor.memoryOverhead': formatMb(s.memoryOverheadMb),
    'spark.driver.memory': formatMb(s.driverMemoryMb),
  });
  if (s.shufflePartitions !== undefined) p['spark.sql.shuffle.partitions'] = String(s.shufflePartitions);
  return p;
}

/** Core-hours, GB-hours and cost of holding `s` for `durationMs`. */
export function costOf(
  s: ResourceSettings,
  durationMs: number,
  pricing: Pricing,
): { cost: number; coreHours: number; gbHours: number } {
  const hours = durationMs / 3_600_000;
  const coreHours = s.executors * s.coresPerExecutor * hours;
  const gbHours = (s.executors * (s.executorMemoryMb + s.memoryOverheadMb) * hours) / 1024;
  const types = pricing.instanceTypes ?? [];
  if (types.length > 0) {
    const gbPerExecutor = (s.executorMemoryMb + s.memoryOverheadMb) / 1024;
    let best = Number.POSITIVE_INFINITY;
    for (const t of types) {
      const perInstance = Math.min(
        Math.floor(t.cores / s.coresPerExecutor),
        Math.floor(t.memoryGb / gbPerExecutor),
      );
      if (perInstance < 1) continue;
      best = Math.min(best, Math.ceil(s.executors / perInstance) * t.pricePerHour * hours);
    }
    return { cost: best, coreHours, gbHours };
  }
  return { cost: coreHours * pricing.corePerHour + gbHours * pricing.gbPerHour, coreHours, gbHours };
}

/** Executor counts tried: every count to 8, then steps of about 25%, up to `max`. */
export function executorCounts(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= max; n = n < 8 ? n + 1 : Math.ceil(n * 1.25)) out.push(n);
  if (out[out.length - 1] !== max && max >= 1) out.push(max);
  return out;
}

/** Candidates on the time-against-cost front: none is both faster and cheaper; fastest first. */
export function paretoFront(candidates: readonly Candidate[]): Candidate[] {
  const sorted = [...candidates].sort(
    (a, b) =>
      a.prediction.durationMs.value - b.prediction.durationMs.value ||
      a.prediction.cost.value - b.prediction.cost.value,
  );
  const front: Candidate[] = [];
  let cheapest = Number.POSITIVE_INFINITY;
  for (const c of sorted) {
    if (c.prediction.cost.value < cheapest - 1e-12) {
      front.push(c);
      cheapest = c.prediction.cost.value;
    }
  }
  return front;
}

/**
 * The candidate an objective picks from the front: `cost`, the cheapest that meets the deadline (else the
 * fastest); `time`, the fastest within the budget (else the cheapest); `balanced`, the one with the least
 * product of time and cost normalized to the front's best, within deadline and budget when given.
 */
export function choose(
  front: readonly Candidate[],
  objective: Objective,
  limits: { deadlineMs?: number; budget?: number } = {},
): Candidate {
  if (front.length === 0) throw new RangeError('no candidate to choose from');
  const withinDeadline = front.filter(
    (c) => limits.deadlineMs === undefined || c.prediction.durationMs.value <= limits.deadlineMs,
  );
  const withinBudget = front.filter(
    (c) => limits.budget === undefined || c.prediction.cost.value <= limits.budget,
  );
  const byCost = (a: Candidate, b: Candidate) => a.prediction.cost.value - b.prediction.cost.value;
  const byTime = (a: Candidate, b: Candidate) =>
    a.prediction.durationMs.value - b.prediction.durationMs.value;
  if (objective === 'cost')
    return [...(withinDeadline.length ? withinDeadline : front)].sort(
      withinDeadline.length ? byCost : byTime,
    )[0]!;
  if (objective === 'time')
    return [...(withinBudget.length ? withinBudget : front)].sort(withinBudget.length ? byTime : byCost)[0]!;
  const pool = front.filter((c) => withinDeadline.includes(c) && withinBudget.includes(c));
  const from = pool.length ? pool : front;
  const t0 = Math.min(...from.map((c) => c.prediction.durationMs.value));
  const c0 = Math.min(...from.map((c) => c.prediction.cost.value));
  const score = (c: Candidate) =>
    (c.prediction.durationMs.value / t0) * (c.prediction.cost.value / Math.max(c0, 1e-12));
  return [...from].sort((a, b) => score(a) - score(b))[0]!;
}

/** A prediction from a duration interval and the settings' prices. */
export function predictionFor(
  s: ResourceSettings,
  durationMs: { value: number; low: number; high: number },
  pricing: Pricing,
): Prediction {
  const mid = costOf(s, durationMs.value, pricing);
  return {
    durationMs,
    cost: {
      value: mid.cost,
      low: costOf(s, durationMs.low, pricing).cost,
      high: costOf(s, durationMs.high, pricing).cost,
    },
    coreHours: mid.coreHours,
    gbHours: mid.gbHours,
  };
}

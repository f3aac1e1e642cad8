/**
 * What every built-in recommender shares: memory sizing from the evidence, the candidate grid, predictions
 * with intervals corrected by feedback, the time-against-cost front, the objective's pick, and the
 * recommendation record. A recommender differs in the duration predictor it brings and how it argues its
 * confidence.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { sparkProperty } from '../analyze/analyzer.js';
import { parseSparkBytes } from '../analyze/units.js';
import { RecommendError } from '../errors.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import { type DurationPredictor, durationOf, feedbackCorrection } from './predict.js';
import type {
  Candidate,
  ConfidenceBasis,
  Recommendation,
  RecommendContext,
  ResourceSettings,
} from './recommender.js';
import {
  choose,
  defaultOverheadMb,
  executorCounts,
  paretoFront,
  predictionFor,
  propertiesOf,
  settingsOf,
} from './settings.js';

const MIB = 1024 * 1024;
/** z for an interval holding about 80% of outcomes. */
const Z80 = 1.2816;

/** Properties that findings advise and recommendations carry over as they are. */
const PASS_THROUGH = [
  'spark.sql.files.maxPartitionBytes',
  'spark.sql.adaptive.enabled',
  'spark.serializer',
  'spark.speculation',
  'spark.dynamicAllocation.shuffleTracking.enabled',
  'spark.executor.pyspark.memory',
];

/** Settings used when a job has no run and declares nothing. */
export const DEFAULT_SETTINGS: ResourceSettings = {
  executors: 2,
  coresPerExecutor: 2,
  executorMemoryMb: 4096,
  memoryOverheadMb: 512,
  driverMemoryMb: 2048,
};

/** Memory and partition sizing read from a run's peaks and findings. */
export interface Sizing {
  /** Executor heap per core, MiB. */
  memoryPerCoreMb: number;
  /** Overhead as a share of the heap (at least Spark's 10%, 384 MiB minimum applied per executor). */
  overheadShare: number;
  driverMemoryMb: number;
  shufflePartitions?: number;
  /** Dynamic allocation's floor, when the job's newest run used dynamic allocation. */
  dynamicAllocation?: { minExecutors: number };
  /** Other Spark properties the findings advise (input split size, serializer, ...). */
  extraProperties: Record<string, string>;
  /** Finding ids that changed the sizing. */
  findings: string[];
  notes: string[];
}

/**
 * Memory per core from the newest run's peak JVM heap (30% headroom, more when tasks spilled or ran out of
 * memory), overhead from its process RSS beyond the heap (PySpark workers live there), driver memory from
 * the driver's peak, and shuffle partitions from the findings.
 */
export function sizeFrom(run: ApplicationAttemptModel | undefined, context: RecommendContext): Sizing {
  const base = run ? settingsOf(run) : (context.declared ?? DEFAULT_SETTINGS);
  const findings: string[] = [];
  const notes: string[] = [];
  let perCore = base.executorMemoryMb / base.coresPerExecutor;
  let overheadShare = Math.max(0.1, base.memoryOverheadMb / base.executorMemoryMb);
  let driverMemoryMb = base.driverMemoryMb;
  let shufflePartitions = base.shufflePartitions;
  const ids = new Set(
    (context.analysis?.findings ?? []).filter((f) => f.severity !== 'none').map((f) => f.id),
  );
  const pressure = [...ids].some((id) => /oom|memory-overhead|spill|executor-lost/.test(id));
  if (run) {
    const workers = run.executors.filter((e) => (run.executors.length > 1 ? e.id !== 'driver' : true));
    let heapPerCore = 0;
    let extraShare = 0;
    for (const e of workers) {
      const peak = e.peakMemoryMetrics;
      if (!peak?.JVMHeapMemory) continue;
      heapPerCore = Math.max(heapPerCore, peak.JVMHeapMemory / MIB / Math.max(1, e.totalCores));
      const rss =
        (peak.ProcessTreeJVMRSSMemory ?? 0) +
        (peak.ProcessTreePythonRSSMemory ?? 0) +
        (peak.ProcessTreeOtherRSSMemory ?? 0);
      if (rss > 0) extraShare = Math.max(extraShare, (rss - peak.JVMHeapMemory) / peak.JVMHeapMemory);
    }
    if (heapPerCore > 0 && !pressure) {
      // Peak heap includes garbage not yet collected; 30% headroom keeps GC calm.
      const needed = Math.max(512, heapPerCore * 1.3);
      if (needed < perCore * 0.75 || needed > perCore) {
        notes.push(
          `Executors peaked at ${Math.round(heapPerCore)} MiB of heap per core against ${Math.round(perCore)} MiB given: sized to ${Math.round(needed)} MiB per core.`,
        );
        perCore = needed;
      }
    }
    if (pressure) {
      perCore *= 1.5;
      for (const id of ids) if (/oom|memory|spill|executor-lost/.test(id)) findings.push(id);
      notes.push('Tasks ran out of memory, spilled or lost executors: 50% more memory per core.');
    }
    if (extraShare > overheadShare) {
      overheadShare = Math.min(1, extraShare * 1.2);
      notes.push(
        `Processes used ${Math.round(extraShare * 100)}% beyond the heap: overhead raised to match.`,
      );
    }
    const driver = run.executors.find((e) => e.id === 'driver')?.peakMemoryMetrics?.JVMHeapMemory;
    if (driver && driver / MIB > driverMemoryMb * 0.8) {
      driverMemoryMb = Math.ceil((driver / MIB) * 1.5);
      findings.push('driver-memory');
      notes.push(`The driver peaked at ${Math.round(driver / MIB)} MiB of heap: driver memory raised.`);
    }
  }
  for (const f of context.analysis?.findings ?? []) {
    const p = f.properties?.['spark.sql.shuffle.partitions'];
    if (p && Number(p) > 0) {
      shufflePartitions = Number(p);
      findings.push(f.id);
      notes.push(`${f.title}: spark.sql.shuffle.partitions = ${p}.`);
      break;
    }
  }
  // Advice of the findings on properties the resource settings do not cover.
  const extraProperties: Record<string, string> = {};
  for (const f of context.analysis?.findings ?? []) {
    for (const [k, v] of Object.entries(f.properties ?? {})) {
      if (PASS_THROUGH.includes(k) && !(k in extraProperties)) {
        extraProperties[k] = v;
        findings.push(f.id);
        notes.push(`${f.title}: ${k} = ${v}.`);
      }
    }
  }
  if (run) {
    const pyMem = parseSparkBytes(sparkProperty(run, 'spark.executor.pyspark.memory'), 'm');
    if (pyMem) overheadShare = Math.max(overheadShare, pyMem / MIB / (perCore * base.coresPerExecutor));
  }
  return {
    memoryPerCoreMb: perCore,
    overheadShare,
    driverMemoryMb,
    ...(shufflePartitions !== undefined ? { shufflePartitions } : {}),
    ...(base.dynamicAllocation ? { dynamicAllocation: base.dynamicAllocation } : {}),
    extraProperties,
    findings: [...new Set(findings)],
    notes,
  };
}

/** Settings of `executors × cores` with the sizing's memory (rounded up to 256 MiB, at least 1 GiB). */
export function sized(executors: number, cores: number, sizing: Sizing): ResourceSettings {
  const mem = Math.max(1024, Math.ceil((sizing.memoryPerCoreMb * cores) / 256) * 256);
  const s: ResourceSettings = {
    executors,
    coresPerExecutor: cores,
    executorMemoryMb: mem,
    memoryOverheadMb: Math.max(defaultOverheadMb(mem), Math.ceil((mem * sizing.overheadShare) / 128) * 128),
    driverMemoryMb: Math.max(1024, Math.ceil(sizing.driverMemoryMb / 256) * 256),
  };
  if (sizing.shufflePartitions !== undefined) s.shufflePartitions = sizing.shufflePartitions;
  if (sizing.dynamicAllocation) {
    s.dynamicAllocation = { minExecutors: Math.min(executors, sizing.dynamicAllocation.minExecutors) };
  }
  return s;
}

/** What a recommender brings to {@link recommendWith}. */
export interface RecommenderInput {
  recommender: string;
  predictor: DurationPredictor;
  /** Confidence 0 to 1 before the feedback, and why. */
  confidence: number;
  basis: ConfidenceBasis;
  notes?: string[];
}

/** Core counts tried per executor: the run's own and the usual sizes, at most 8. */
function coreCounts(current: number): number[] {
  return [...new Set([current, 1, 2, 4, 5, 8])].filter((c) => c >= 1 && c <= 8).sort((a, b) => a - b);
}

/** Build the recommendation: candidates, predictions, front, the objective's pick and its record. */
export function recommendWith(context: RecommendContext, input: RecommenderInput): Recommendation {
  const newest = context.history[0];
  const sizing = sizeFrom(newest, context);
  const base = newest ? settingsOf(newest) : (context.declared ?? DEFAULT_SETTINGS);
  const fb = feedbackCorrection(context.feedback);
  const candidates: Candidate[] = [];
  for (const cores of coreCounts(base.coresPerExecutor)) {
    for (const executors of executorCounts(context.maxExecutors)) {
      const settings = sized(executors, cores, sizing);
      const est = input.predictor.predict(settings);
      const relError =
        fb.relError !== undefined ? Math.min(est.relError, Math.max(0.05, fb.relError)) : est.relError;
      const ms = est.ms * fb.factor;
      const duration = {
        value: ms,
        low: Math.max(ms * 0.2, ms * (1 - Z80 * relError)),
        high: ms * (1 + Z80 * relError),
      };
      candidates.push({
        settings,
        properties: { ...propertiesOf(settings), ...sizing.extraProperties },
        prediction: predictionFor(settings, duration, context.pricing),
      });
    }
  }
  const finite = candidates.filter((c) => Number.isFinite(c.prediction.cost.value));
  if (finite.length === 0) {
    throw new RecommendError(
      'SPARKPILOT_RECOMMEND_NO_CANDIDATE',
      `No executor size for job "${context.jobKey}" fits any of the instance types priced. Add a larger instance type to pricing.instanceTypes.`,
    );
  }
  const front = paretoFront(finite);
  const pick = choose(front, context.objective, {
    ...(context.deadlineMs !== undefined ? { deadlineMs: context.deadlineMs } : {}),
    ...(context.budget !== undefined ? { budget: context.budget } : {}),
  });
  const notes = [...(input.notes ?? []), ...sizing.notes];
  if (context.deadlineMs !== undefined && pick.prediction.durationMs.value > context.deadlineMs) {
    notes.push(
      `No setting is predicted to meet the deadline of ${Math.round(context.deadlineMs / 1000)} s: this is the fastest.`,
    );
  }
  if (context.budget !== undefined && pick.prediction.cost.value > context.budget) {
    notes.push(`No setting is predicted to fit the budget of ${context.budget}: this is the cheapest.`);
  }
  let confidence = input.confidence;
  if (fb.runs > 0) {
    notes.push(
      `${fb.runs} earlier recommendation(s) of this job were followed by runs ${fb.factor >= 1 ? 'slower' : 'faster'} than predicted: predictions scaled by ${fb.factor.toFixed(2)}.`,
    );
  }
  const ratings = context.feedback.map((f) => f.rating).filter((r): r is number => r !== undefined);
  if (ratings.length > 0) {
    const avg = ratings.reduce((a, b) => a + b, 0) / ratings.length;
    if (avg < 3) {
      confidence *= 0.6 + avg * 0.1;
      input.basis.reasons.push(`Earlier recommendations of this job were rated ${avg.toFixed(1)} of 5.`);
    }
  }
  if (pick.settings.dynamicAllocation) {
    notes.push(
      `The job runs with dynamic allocation: kept, with at most ${pick.settings.executors} executor(s) (the prediction assumes the busiest stages reach them).`,
    );
  }
  if (newest) {
    const was = durationOf(newest);
    notes.unshift(
      `Newest run: ${base.executors} executor(s) × ${base.coresPerExecutor} core(s), ${Math.round(was / 1000)} s; recommended: ${pick.settings.executors} × ${pick.settings.coresPerExecutor}, predicted ${Math.round(pick.prediction.durationMs.value / 1000)} s.`,
    );
  }
  return {
    id: `rec_${randomUUID()}`,
    jobKey: context.jobKey,
    recommender: input.recommender,
    createdAt: Date.now(),
    objective: context.objective,
    ...(context.deadlineMs !== undefined ? { deadlineMs: context.deadlineMs } : {}),
    ...(context.budget !== undefined ? { budget: context.budget } : {}),
    settings: pick.settings,
    properties: pick.properties,
    prediction: pick.prediction,
    confidence: Math.max(0.01, Math.min(0.99, confidence)),
    basis: input.basis,
    findings: sizing.findings,
    alternatives: front.filter((c) => c !== pick).slice(0, 8),
    basedOn: context.history.map((m) => ({ appId: m.appId, attemptId: m.attemptId ?? '' })),
    notes,
  };
}

/** The number of distinct executor settings (executors × cores) among runs. */
export function distinctSettings(runs: readonly ApplicationAttemptModel[]): number {
  return new Set(
    runs.map((m) => {
      const s = settingsOf(m);
      return `${s.executors}x${s.coresPerExecutor}`;
    }),
  ).size;
}

/** Confidence from a relative error: 1 − 2 × error, kept within [0.05, 0.95]. */
export function confidenceFromError(relError: number): number {
  return Math.max(0.05, Math.min(0.95, 1 - 2 * relError));
}

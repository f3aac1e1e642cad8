/**
 * Duration predictors shared by the recommenders: the stage simulator on the newest run, a scaling model
 * fitted on a job's history (the simulator's curve calibrated by least squares, with the saturation the
 * history shows), and a similarity predictor over other jobs' runs. Each predicts a duration with a
 * relative error, and can be scored on a job's own history by leaving one run out.
 * @module
 */
import { StageSimulator } from '../analyze/simulator.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { FeedbackRecord, ResourceSettings, SimilarRun } from './recommender.js';
import { settingsOf } from './settings.js';

/** A predicted duration, ms, and its expected relative error (0.2 = ±20%). */
export interface DurationEstimate {
  ms: number;
  relError: number;
}

/** Predicts the wall clock of a job under given settings. */
export interface DurationPredictor {
  readonly name: string;
  predict(settings: ResourceSettings): DurationEstimate;
}

/** The relative error assumed when nothing measured it. */
export const UNMEASURED_ERROR = 0.35;

const slotsOf = (s: ResourceSettings) => s.executors * s.coresPerExecutor;

/** Observed wall clock of a run, ms. */
export function durationOf(m: ApplicationAttemptModel): number {
  const a = m.application.attempts[0]!;
  return a.duration > 0 ? a.duration : Math.max(0, a.endTimeEpoch - a.startTimeEpoch);
}

/** The data a run processed: input plus shuffle read bytes (what scales its work). */
export function volumeOf(m: ApplicationAttemptModel): number {
  let v = 0;
  for (const s of m.stages) v += s.inputBytes + s.shuffleReadBytes;
  return v;
}

const simulators = new WeakMap<ApplicationAttemptModel, StageSimulator>();
/** The simulator of a run, built once per model. */
export function simulatorOf(m: ApplicationAttemptModel): StageSimulator {
  let s = simulators.get(m);
  if (!s) simulators.set(m, (s = new StageSimulator(m)));
  return s;
}

/** The stage simulator on one run: its observed time, moved by the simulated effect of the slots. */
export function simulatorPredictor(
  run: ApplicationAttemptModel,
  relError = UNMEASURED_ERROR,
): DurationPredictor {
  const sim = simulatorOf(run);
  return {
    name: 'simulator',
    predict: (s) => ({ ms: sim.predictSlots(slotsOf(s)), relError }),
  };
}

/**
 * A scaling model fitted on a job's history: `T = a + b × scale × g(min(S, cap)) + c × (E − 1)`, where `g`
 * is the simulated executor time of the newest run on `S` slots, `scale` the run's data volume against the
 * newest run's, `cap` the slots beyond which the history got no faster (more cores than the hardware
 * behind them, a shared service, ...), and `E − 1` the executors beyond the first (each one a JVM to start
 * and feed: what makes 2 executors of 1 core slower than 1 of 2). `a`, `b`, `c` come from non-negative
 * least squares over the runs; terms the history cannot tell apart are left out (with one run the model is
 * the simulator).
 */
export function scalingModelPredictor(
  history: readonly ApplicationAttemptModel[],
): DurationPredictor | undefined {
  const runs = history.filter((m) => durationOf(m) > 0);
  if (runs.length === 0) return undefined;
  const newest = runs[0]!;
  const sim = simulatorOf(newest);
  const newestVolume = Math.max(1, volumeOf(newest));
  const points = runs.map((m) => {
    const s = settingsOf(m);
    return {
      slots: slotsOf(s),
      executors: s.executors,
      scale: volumeOf(m) > 0 ? volumeOf(m) / newestVolume : 1,
      t: durationOf(m),
    };
  });
  const cap = saturation(points);
  const g = (slots: number) => sim.simulate(Math.min(slots, cap));
  const row = (p: { slots: number; executors: number; scale: number }) => [
    1,
    p.scale * g(p.slots),
    p.executors - 1,
  ];
  const X = points.map(row);
  const y = points.map((p) => p.t);
  let coef: number[];
  const distinctSlots = new Set(points.map((p) => Math.min(p.slots, cap))).size;
  const distinctExecutors = new Set(points.map((p) => p.executors)).size;
  if (distinctSlots >= 2 || distinctExecutors >= 2) {
    // Only the terms the history varies in (the intercept always).
    const use = [true, distinctSlots >= 2, distinctExecutors >= 2 && points.length >= 3];
    coef = nnls(X, y, use);
    if (!use[1]) {
      // The slots never changed: keep the simulator's shape at b = 1 and refit the rest around it.
      const rest = y.map((t, i) => t - X[i]![1]!);
      const c = nnls(X, rest, [true, false, use[2]!]);
      coef = [c[0]!, 1, c[2]!];
    }
  } else {
    const a = mean(points.map((p, i) => p.t - X[i]![1]!));
    coef = [a, 1, 0];
  }
  const f = (r: number[]) => coef.reduce((acc, c, i) => acc + c * r[i]!, 0);
  // The residual spread on the history is the error (never below 5%; more with fewer points).
  const residuals = points.map((p, i) => Math.abs(f(X[i]!) - p.t) / p.t);
  const spread = residuals.length > 2 ? mean(residuals) * (1 + 3 / residuals.length) : UNMEASURED_ERROR;
  return {
    name: 'model',
    predict: (s) => ({
      ms: Math.max(1, f(row({ slots: slotsOf(s), executors: s.executors, scale: 1 }))),
      relError: Math.max(0.05, spread),
    }),
  };
}

/** Slots beyond which a run with more slots was not faster (5% or more) than the fastest with fewer. */
function saturation(points: readonly { slots: number; scale: number; t: number }[]): number {
  const sorted = [...points].sort((x, y) => x.slots - y.slots);
  let best = Number.POSITIVE_INFINITY;
  let bestSlots = Number.POSITIVE_INFINITY;
  let cap = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    const t = p.t / p.scale;
    if (t < best * 0.95) {
      best = Math.min(best, t);
      bestSlots = p.slots;
      cap = Number.POSITIVE_INFINITY;
    } else if (p.slots > bestSlots) cap = Math.min(cap, bestSlots);
    best = Math.min(best, t);
  }
  return cap;
}

/**
 * Similar runs of other jobs: their simulated speed-up curves, weighted by similarity, applied to this job's
 * newest run (or, for a job with no history, their own durations scaled by data volume).
 */
export function similarityPredictor(
  similar: readonly SimilarRun[],
  newest: ApplicationAttemptModel | undefined,
): DurationPredictor | undefined {
  const usable = similar.filter((r) => r.similarity > 0 && durationOf(r.model) > 0);
  if (usable.length === 0) return undefined;
  const weight = usable.reduce((a, r) => a + r.similarity, 0);
  const meanSim = weight / usable.length;
  const relative = (slots: number) => {
    let v = 0;
    for (const r of usable) {
      const sim = simulatorOf(r.model);
      // The observed setting predicts the observed wall clock exactly, so no simulation is needed for it.
      v += (r.similarity * sim.predictSlots(slots)) / Math.max(1, sim.observedWallClockMs);
    }
    return v / weight;
  };
  const relError = Math.min(0.9, UNMEASURED_ERROR + (1 - meanSim) * 0.5);
  if (newest) {
    // This job's newest run, moved by how the similar runs scaled from its slots to the target's.
    const base = durationOf(newest) / relative(slotsOf(settingsOf(newest)));
    return { name: 'similarity', predict: (s) => ({ ms: base * relative(slotsOf(s)), relError }) };
  }
  return {
    name: 'similarity',
    predict: (s) => {
      let v = 0;
      for (const r of usable) v += r.similarity * simulatorOf(r.model).predictSlots(slotsOf(s));
      return { ms: v / weight, relError: Math.min(0.95, relError + 0.3) };
    },
  };
}

/**
 * Mean absolute percentage error of a predictor built from a job's history, leaving each run out in turn
 * (the predictor is built from the other runs and predicts the left-out run's settings). `undefined` with
 * fewer than two runs.
 */
export function leaveOneOutMape(
  history: readonly ApplicationAttemptModel[],
  build: (rest: ApplicationAttemptModel[]) => DurationPredictor | undefined,
): number | undefined {
  if (history.length < 2) return undefined;
  const errors: number[] = [];
  for (let i = 0; i < history.length; i++) {
    const rest = history.filter((_, j) => j !== i);
    const p = build(rest);
    if (!p) continue;
    const actual = durationOf(history[i]!);
    if (actual <= 0) continue;
    errors.push(Math.abs(p.predict(settingsOf(history[i]!)).ms - actual) / actual);
  }
  return errors.length ? mean(errors) : undefined;
}

/**
 * The feedback loop's correction: the median of observed over predicted durations of earlier
 * recommendations' runs (bounded to [0.5, 2]), and the spread of those ratios as an error.
 */
export function feedbackCorrection(feedback: readonly FeedbackRecord[]): {
  factor: number;
  relError?: number;
  runs: number;
} {
  const ratios = feedback
    .filter((f) => f.observedMs !== undefined && f.predictedMs > 0)
    .map((f) => f.observedMs! / f.predictedMs)
    .sort((a, b) => a - b);
  if (ratios.length === 0) return { factor: 1, runs: 0 };
  const median = ratios[Math.floor(ratios.length / 2)]!;
  const factor = Math.min(2, Math.max(0.5, median));
  const relError = ratios.length >= 2 ? mean(ratios.map((r) => Math.abs(r / factor - 1))) : undefined;
  return { factor, ...(relError !== undefined ? { relError } : {}), runs: ratios.length };
}

/** Predictions of several predictors combined with weights inverse to their squared errors. */
export function combine(estimates: readonly DurationEstimate[]): DurationEstimate {
  let wsum = 0;
  let v = 0;
  let e = 0;
  for (const x of estimates) {
    const w = 1 / Math.max(0.01, x.relError) ** 2;
    wsum += w;
    v += w * x.ms;
    e += w * x.relError;
  }
  return { ms: v / wsum, relError: e / wsum };
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/**
 * Non-negative least squares over the columns marked in `use` (the others get 0): every subset of those
 * columns is solved by the normal equations and the best fit with no negative coefficient kept (there are
 * at most three columns, so eight subsets).
 */
function nnls(X: readonly number[][], y: readonly number[], use: readonly boolean[]): number[] {
  const k = use.length;
  const cols = use.map((u, i) => (u ? i : -1)).filter((i) => i >= 0);
  let best: number[] = new Array<number>(k).fill(0);
  let bestErr = y.reduce((a, v) => a + v * v, 0);
  for (let mask = 1; mask < 1 << cols.length; mask++) {
    const sub = cols.filter((_, j) => mask & (1 << j));
    const beta = solveNormal(
      X.map((r) => sub.map((c) => r[c]!)),
      y,
    );
    if (!beta || beta.some((b) => b < 0 || !Number.isFinite(b))) continue;
    const full = new Array<number>(k).fill(0);
    sub.forEach((c, j) => {
      full[c] = beta[j]!;
    });
    const err = X.reduce((a, r, i) => a + (r.reduce((acc, v, j) => acc + v * full[j]!, 0) - y[i]!) ** 2, 0);
    if (err < bestErr) {
      bestErr = err;
      best = full;
    }
  }
  return best;
}

/** Least squares by the normal equations (Gaussian elimination); `undefined` when singular. */
function solveNormal(A: readonly number[][], y: readonly number[]): number[] | undefined {
  const n = A[0]?.length ?? 0;
  const M = Array.from({ length: n }, (_, i) => {
    const r = new Array<number>(n + 1).fill(0);
    for (let j = 0; j < n; j++) for (let k = 0; k < A.length; k++) r[j]! += A[k]![i]! * A[k]![j]!;
    for (let k = 0; k < A.length; k++) r[n]! += A[k]![i]! * y[k]!;
    return r;
  });
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-9 * (1 + Math.abs(M[c]![c]!))) return undefined;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let j = c; j <= n; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  return M.map((r, i) => r[n]! / r[i]!);
}

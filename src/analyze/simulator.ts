/**
 * A run-time simulator: the wall clock of an application with N executors of C cores, estimated from its
 * observed stages and tasks by replaying them on N×C task slots through the stage DAG (Sparklens' "what if",
 * with the stage DAG and the task-duration sketch instead of task lists).
 *
 * How it works, per phase (a job, or jobs that ran concurrently) in the order they ran: a stage is ready
 * when its parents are done;
 * its tasks (durations rebuilt from the stage's quantile sketch, adding up to its task time) go to the
 * earliest free slot, no earlier than the stage is ready. The prediction is the observed wall clock plus
 * the simulated difference between the target and the observed slots, so the driver's own time and every
 * overhead that does not depend on the slots are kept as observed, and the observed configuration predicts
 * itself exactly. What it cannot know: that cores beyond the machine's physical ones do not speed up
 * CPU-bound tasks, and memory effects (spill, GC) of another executor size. The model recommender learns
 * those from a job's history.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';
import {
  appSpan,
  maxConcurrentSlots,
  phases,
  type StageSpan,
  slotSpans,
  slotsDuring,
  stageSpans,
  taskDurations,
} from './timeline.js';

/** One point of a simulated curve. */
export interface SimulationPoint {
  executors: number;
  coresPerExecutor: number;
  /** `executors × coresPerExecutor`. */
  slots: number;
  /** Predicted wall clock, ms. */
  wallClockMs: number;
}

interface SimStage {
  id: number;
  parents: number[];
  tasks: Float64Array;
}

interface SimJob {
  stages: SimStage[];
}

/** A min-heap of slot free times. */
class SlotHeap {
  private readonly h: Float64Array;
  constructor(
    readonly size: number,
    start: number,
  ) {
    this.h = new Float64Array(size).fill(start);
  }
  /** The earliest free time. */
  min(): number {
    return this.h[0]!;
  }
  /** Replace the earliest free time and restore the heap. */
  replaceMin(v: number): void {
    const h = this.h;
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= v) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = v;
  }
}

/**
 * Replays an application's stages and tasks on any number of task slots. Build it once per model (it
 * rebuilds the task durations once), then ask for as many slot counts as needed.
 *
 * @example
 * ```ts
 * const sim = new StageSimulator(model);
 * sim.predict({ executors: 10, coresPerExecutor: 4 }); // ms
 * sim.curve([2, 4, 8, 16], 4);                          // SimulationPoint[]
 * ```
 */
export class StageSimulator {
  /** Observed wall clock, ms. */
  readonly observedWallClockMs: number;
  /** The task slots the run had (weighted by how long each stage ran with them). */
  readonly observedSlots: number;
  /** Observed cores per executor (the most common). */
  readonly observedCoresPerExecutor: number;
  private readonly jobs: SimJob[];
  private readonly base: number;

  constructor(model: ApplicationAttemptModel) {
    const app = appSpan(model);
    this.observedWallClockMs = Math.max(0, app.end - app.start);
    const spans = stageSpans(model);
    const slots = slotSpans(model);
    let weighted = 0;
    let time = 0;
    for (const s of spans) {
      const wall = Math.max(1, s.end - s.start);
      weighted += wall * (slotsDuring(slots, s.start, s.end) || maxConcurrentSlots(slots));
      time += wall;
    }
    this.observedSlots = Math.max(1, Math.round(time > 0 ? weighted / time : maxConcurrentSlots(slots) || 1));
    const cores = new Map<number, number>();
    for (const s of slots) cores.set(s.cores, (cores.get(s.cores) ?? 0) + 1);
    this.observedCoresPerExecutor = [...cores].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 1;
    this.jobs = buildJobs(spans);
    this.base = this.simulate(this.observedSlots);
  }

  /** Simulated time of every job on `slots` slots, ms (driver time excluded). */
  simulate(slots: number): number {
    const n = Math.max(1, Math.floor(slots));
    let total = 0;
    for (const job of this.jobs) {
      const heap = new SlotHeap(n, 0);
      const done = new Map<number, number>();
      let end = 0;
      for (const stage of job.stages) {
        let ready = 0;
        for (const p of stage.parents) ready = Math.max(ready, done.get(p) ?? 0);
        let finish = ready;
        const tasks = stage.tasks;
        for (let i = 0; i < tasks.length; i++) {
          const t = Math.max(heap.min(), ready) + tasks[i]!;
          heap.replaceMin(t);
          if (t > finish) finish = t;
        }
        done.set(stage.id, Math.max(done.get(stage.id) ?? 0, finish));
        if (finish > end) end = finish;
      }
      total += end;
    }
    return total;
  }

  /** Predicted wall clock with `executors` executors of `coresPerExecutor` cores, ms. */
  predict(target: { executors: number; coresPerExecutor: number }): number {
    return this.predictSlots(target.executors * target.coresPerExecutor);
  }

  /** Predicted wall clock with `slots` task slots, ms. */
  predictSlots(slots: number): number {
    const diff = this.simulate(slots) - this.base;
    return Math.max(1, this.observedWallClockMs + diff);
  }

  /** The predicted wall clock for each executor count, with `coresPerExecutor` cores each. */
  curve(executors: readonly number[], coresPerExecutor = this.observedCoresPerExecutor): SimulationPoint[] {
    return executors.map((n) => ({
      executors: n,
      coresPerExecutor,
      slots: n * coresPerExecutor,
      wallClockMs: this.predictSlots(n * coresPerExecutor),
    }));
  }
}

/** Phases in the order they ran (jobs that overlapped share one), stages in a topological order. */
function buildJobs(spans: readonly StageSpan[]): SimJob[] {
  return phases(spans).map((phase) => ({
    stages: phase.map((span) => ({
      id: span.stage.stageId,
      parents: span.stage.parentIds,
      tasks: Float64Array.from(taskDurations(span)),
    })),
  }));
}

#!/usr/bin/env node
// The orchestrator part of `npm run bench` (also `node scripts/bench-orchestrate.mjs` alone), on a layered
// DAG of 10,000 jobs (100 layers of 100; each job of a layer depends on two jobs of the layer before), one
// run, the in-memory adapter, and a SQLite file store (WAL, synchronous=NORMAL, as `sparkpilot` opens it).
//
// 1. Scheduling overhead per job: every job takes 0 ms on the adapter, slots for every job (global
//    concurrency 10,000), the real clock. The orchestrator's wall time from trigger to the run's success,
//    divided by the jobs. Baseline, same run: the same DAG driven through the same adapter by a loop that
//    submits each job when its upstream jobs have ended, keeping nothing (no store, no leases, no events);
//    overhead = (orchestrator - baseline) / jobs. Target: under 1 ms per job (Airflow 2's scheduler is
//    reported at 12-14 ms per task).
// 2. Makespan: the same DAG with simulated durations (1 to 10 minutes, seeded), on a ManualClock driven the
//    way sparkpilot/testing drives it (advance to the next timer once the orchestrator is idle), enough slots.
//    Makespan / critical path (the longest chain of durations, which no schedule can beat). Target: <= 1.02.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist/index.js'))) {
  const b = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
const sp = await import(join(root, 'dist/index.js'));

const LAYERS = Number(process.env.SPARKPILOT_BENCH_LAYERS ?? 100);
const WIDTH = Number(process.env.SPARKPILOT_BENCH_WIDTH ?? 100);
const N = LAYERS * WIDTH;
const res = { executors: 1, coresPerExecutor: 1, executorMemory: '1g' };

function dag(name) {
  const jobs = [];
  for (let i = 0; i < N; i++) {
    const layer = Math.floor(i / WIDTH);
    const deps =
      layer === 0
        ? []
        : [...new Set([(layer - 1) * WIDTH + (i % WIDTH), (layer - 1) * WIDTH + ((i * 7 + 3) % WIDTH)])].map(
            (d) => `j${d}`,
          );
    jobs.push({ name: `j${i}`, application: { file: 'job.py' }, resources: res, dependsOn: deps });
  }
  return sp.definePipeline({ name, schedule: 'daily', jobs });
}

// Seeded durations, 1 to 10 minutes.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

async function baseline(def) {
  // The adapter's timers are unref'd: hold the process open while the loop runs.
  const keep = setInterval(() => {}, 1 << 30);
  const adapter = sp.inMemoryAdapter({ default: { durationMs: 0 } });
  const t = performance.now();
  const remaining = new Map(def.jobs.map((j) => [j.name, (def.upstream[j.name] ?? []).length]));
  const start = async (job) => {
    const s = await adapter.submit({
      submissionKey: `k-${job}`,
      name: job,
      application: { file: 'job.py' },
      args: [],
      properties: {},
    });
    await adapter.wait(s.submissionId);
    await Promise.all(
      (def.downstream[job] ?? []).map((d) => {
        const n = remaining.get(d) - 1;
        remaining.set(d, n);
        return n === 0 ? start(d) : undefined;
      }),
    );
  };
  await Promise.all(def.jobs.filter((j) => remaining.get(j.name) === 0).map((j) => start(j.name)));
  const ms = performance.now() - t;
  await adapter.close();
  clearInterval(keep);
  return ms;
}

async function overhead() {
  const def = dag('bench_overhead');
  const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-bench-orch-'));
  const store = await sp.openStore(`sqlite:${join(dir, 'orchestrator.db')}`);
  const adapter = sp.inMemoryAdapter({ default: { durationMs: 0 } });
  const orch = sp.createOrchestrator({
    store,
    adapters: { default: adapter },
    pipelines: [def],
    schedule: false,
    concurrency: { global: N },
  });
  const errors = [];
  orch.on('error', (e) => errors.push(e));
  await orch.start();
  const t = performance.now();
  const run = await orch.trigger(def.name);
  const done = await orch.waitForRun(run.id);
  const ms = performance.now() - t;
  await orch.stop();
  await adapter.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (done.status !== 'succeeded' || errors.length > 0)
    throw new Error(`overhead run ${done.status}: ${errors.join('; ')}`);
  return { ms, submissions: adapter.history.length };
}

async function makespan() {
  const def = dag('bench_makespan');
  const durations = Object.fromEntries(def.jobs.map((j) => [j.name, Math.round(60_000 + rand() * 540_000)]));
  const jobs = Object.fromEntries(
    def.jobs.map((j) => [`${def.name}.${j.name}`, { durationMs: durations[j.name] }]),
  );
  const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-bench-orch-'));
  const store = await sp.openStore(`sqlite:${join(dir, 'orchestrator.db')}`);
  const clock = new sp.ManualClock(Date.parse('2025-01-01T00:00:00Z'));
  const adapter = sp.inMemoryAdapter({ clock, jobs });
  const orch = sp.createOrchestrator({
    store,
    adapters: { default: adapter },
    pipelines: [def],
    clock,
    schedule: false,
    pollMs: 3_600_000,
    leaseMs: 3_600_000,
    concurrency: { global: N },
  });
  await orch.start();
  const t0 = clock.now();
  const run = await orch.trigger(def.name, { start: new Date(t0 - 86_400_000), end: new Date(t0) });
  let status = 'queued';
  for (let i = 0; i < 1_000_000; i++) {
    await orch.idle();
    status = (await store.runs.getRun(run.id)).status;
    if (status === 'succeeded' || status === 'failed') break;
    const next = clock.nextDueAt();
    if (next === undefined) break;
    clock.advance(Math.max(0, next - clock.now()));
  }
  const finished = (await store.runs.getRun(run.id)).data.finishedAt;
  await orch.stop();
  await adapter.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (status !== 'succeeded') throw new Error(`makespan run ${status}`);
  const cp = sp.criticalPath(def, durations);
  return { makespan: finished - t0, critical: cp.durationMs, length: cp.jobs.length };
}

console.log(
  `\n== orchestrator: ${N}-job layered DAG (${LAYERS} layers of ${WIDTH}), in-memory adapter, SQLite file store ==`,
);
const def = dag('bench_baseline');
const rounds = Number(process.env.SPARKPILOT_BENCH_ROUNDS ?? 2);
const results = [];
for (let r = 0; r < rounds; r++) {
  const base = await baseline(def);
  const o = await overhead();
  const per = (o.ms - base) / N;
  results.push(per);
  console.log(
    `round ${r + 1}: orchestrator ${o.ms.toFixed(0)} ms for ${o.submissions} jobs (${(o.ms / N).toFixed(3)} ms/job); baseline loop ${base.toFixed(0)} ms; overhead ${per.toFixed(3)} ms/job; orchestrator / baseline = ${(o.ms / base).toFixed(1)}x`,
  );
}
const worst = Math.max(...results);
console.log(
  `${worst < 1 ? 'ok  ' : 'MISS'} scheduling overhead per job with the SQLite store (target < 1 ms; worst round): ${worst.toFixed(3)} ms`,
);
const m = await makespan();
const ratio = m.makespan / m.critical;
console.log(
  `makespan ${(m.makespan / 60_000).toFixed(1)} min, critical path ${(m.critical / 60_000).toFixed(1)} min (${m.length} jobs)`,
);
console.log(
  `${ratio <= 1.02 ? 'ok  ' : 'MISS'} makespan / critical path with enough slots (target <= 1.02): ${ratio.toFixed(4)}`,
);

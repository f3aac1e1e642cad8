#!/usr/bin/env node
// The recommender part of `npm run bench` (also `node scripts/bench-recommend.mjs` alone): a leave-one-out
// evaluation on real runs of the same workloads under several executor counts, cores and memory sizes
// (test/fixtures/workloads, made by scripts/fixtures/workloads.sh).
//
// For each workload and each of its runs: the run is left out, each recommender's predictor is built from
// the workload's other runs (and, for the similarity predictor, the other workloads' runs as similar runs),
// and predicts the left-out run's wall clock from its settings. MAPE is the mean absolute percentage error
// over all left-out runs. Then, with the same history, each recommender picks a setting among the
// settings actually observed for the workload (the only ones whose true time and cost are known), for the
// time and the cost objective; regret is how much slower (or dearer) the picked setting really was than the
// best observed one. Targets: MAPE <= 15%, median regret <= 10%.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist/index.js'))) {
  const b = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
const dir = join(root, 'test/fixtures/workloads');
const sp = await import(join(root, 'dist/index.js'));
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const runs = manifest.runs ?? manifest;

// Parse every run once.
const byWorkload = new Map();
for (const r of runs) {
  const res = await sp.eventLogCollector({ workers: 1 }).collect(join(dir, r.file));
  const model = res.applications[0];
  if (!model) throw new Error(`${r.file}: no application`);
  const list = byWorkload.get(r.workload) ?? [];
  list.push({ run: r, model });
  byWorkload.set(r.workload, list);
}
const pricing = sp.DEFAULT_PRICING;
const features = new Map();
for (const list of byWorkload.values()) for (const x of list) features.set(x.model, sp.featuresOf(x.model));

// Newest first, as the tuner gives history.
const newestFirst = (xs) =>
  [...xs].sort(
    (a, b) => b.model.application.attempts[0].startTimeEpoch - a.model.application.attempts[0].startTimeEpoch,
  );

function similarRuns(workload, target) {
  const out = [];
  for (const [w, list] of byWorkload) {
    if (w === workload) continue;
    for (const x of list)
      out.push({
        model: x.model,
        similarity: sp.similarity(features.get(target), features.get(x.model)).value,
      });
  }
  return out
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, 10)
    .filter((s) => s.similarity >= 0.5);
}

// Each recommender's own predictor, as it builds it from the context the tuner would give it.
const context = (workload, history) => ({
  jobKey: workload,
  history: history.map((x) => x.model),
  similar: similarRuns(workload, history[0].model),
  objective: 'balanced',
  pricing,
  feedback: [],
  maxExecutors: 16,
});
const predictors = {
  'rule-based': (history, workload) => sp.ruleBasedInput(context(workload, history)).predictor,
  model: (history, workload) => sp.modelInput(context(workload, history)).predictor,
  similarity: (history, workload) => sp.similarityInput(context(workload, history), 0.5).predictor,
  ensemble: (history, workload) => sp.ensembleInput(context(workload, history)).predictor,
};

const actualMs = (x) => sp.durationOf(x.model);
const settings = (x) => sp.settingsOf(x.model);
const cost = (x, ms) => sp.costOf(settings(x), ms, pricing).cost;

const rows = [];
const regrets = {};
for (const [name, build] of Object.entries(predictors)) {
  const errors = [];
  const regretTime = [];
  const regretCost = [];
  for (const [workload, list] of byWorkload) {
    for (let i = 0; i < list.length; i++) {
      const left = list[i];
      const history = newestFirst(list.filter((_, j) => j !== i));
      const p = build(history, workload);
      const predicted = p.predict(settings(left)).ms;
      errors.push(Math.abs(predicted - actualMs(left)) / actualMs(left));
      // The pick among the workload's observed settings, seeing every run but this fold's left-out one.
      const candidates = list.map((x) => ({ x, ms: p.predict(settings(x)).ms }));
      const bestTime = Math.min(...list.map(actualMs));
      const bestCost = Math.min(...list.map((x) => cost(x, actualMs(x))));
      const byTime = candidates.reduce((a, c) => (c.ms < a.ms ? c : a));
      const byCost = candidates.reduce((a, c) => (cost(c.x, c.ms) < cost(a.x, a.ms) ? c : a));
      regretTime.push(actualMs(byTime.x) / bestTime - 1);
      regretCost.push(cost(byCost.x, actualMs(byCost.x)) / bestCost - 1);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mape = errors.reduce((a, b) => a + b, 0) / errors.length;
  regrets[name] = { mape, time: median(regretTime), cost: median(regretCost) };
  rows.push({
    recommender: name,
    'MAPE %': (mape * 100).toFixed(1),
    'median regret, time %': (median(regretTime) * 100).toFixed(1),
    'median regret, cost %': (median(regretCost) * 100).toFixed(1),
    folds: errors.length,
  });
}
console.log(
  `\nleave-one-out on ${runs.length} real runs of ${byWorkload.size} workloads (${[...byWorkload].map(([w, l]) => `${w}: ${l.length}`).join(', ')}):`,
);
console.table(rows);
const e = regrets.ensemble;
console.log(
  `${e.mape <= 0.15 ? 'ok  ' : 'MISS'} ensemble MAPE (target <= 15%): ${(e.mape * 100).toFixed(1)}%`,
);
for (const k of ['time', 'cost']) {
  console.log(
    `${e[k] <= 0.1 ? 'ok  ' : 'MISS'} ensemble median regret, ${k} (target <= 10%): ${(e[k] * 100).toFixed(1)}%`,
  );
}

// The simulator alone, validated on real runs: every run of a workload predicting every other run of it.
const simRows = [];
let allErr = [];
for (const [workload, list] of byWorkload) {
  const errs = [];
  for (const a of list) {
    const sim = new sp.StageSimulator(a.model);
    for (const b of list) {
      if (a === b) continue;
      const s = settings(b);
      errs.push(Math.abs(sim.predict(s) - actualMs(b)) / actualMs(b));
    }
  }
  allErr = allErr.concat(errs);
  const sorted = [...errs].sort((x, y) => x - y);
  simRows.push({
    workload,
    pairs: errs.length,
    'mean error %': ((errs.reduce((x, y) => x + y, 0) / errs.length) * 100).toFixed(1),
    'median error %': (sorted[Math.floor(sorted.length / 2)] * 100).toFixed(1),
  });
}
console.log('\nthe stage simulator alone: each run predicting every other run of its workload:');
console.table(simRows);
console.log(
  `simulator, all pairs: mean error ${((allErr.reduce((x, y) => x + y, 0) / allErr.length) * 100).toFixed(1)}% over ${allErr.length} pairs`,
);

// Similar runs from 100,000: the feature vectors of the real runs in ../shared/data and the workloads,
// repeated with their volumes shifted (as runs of other sizes), searched for the 10 nearest.
{
  const shared = await sp
    .eventLogCollector()
    .collect(
      ['spark-events', 'spark-events-historical', 'more-events'].map((d) => join(root, '../shared/data', d)),
    );
  const base = [...shared.applications, ...[...byWorkload.values()].flat().map((x) => x.model)].map((m) => ({
    vector: sp.featuresOf(m),
    jobKey: sp.jobKeyOf(m.application.name),
  }));
  const index = new sp.FeatureIndex();
  const N = 100_000;
  let seed = 1;
  const rnd = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < N; i++) {
    const b = base[i % base.length];
    const v = b.vector.slice();
    const shift = (rnd() - 0.5) * 2; // up to ten times smaller or larger
    for (let j = 0; j < 5; j++) if (v[j] > 0) v[j] += shift;
    index.add({ appId: `app-${i}`, attemptId: '', jobKey: `${b.jobKey} ${i % 997}` }, v);
  }
  const times = [];
  for (let q = 0; q < 220; q++) {
    const v = base[q % base.length].vector;
    const t = performance.now();
    index.nearest(v, 10);
    if (q >= 20) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)];
  const p99 = times[Math.floor(times.length * 0.99)];
  console.log(
    `\nk nearest (k = 10) among ${N.toLocaleString('en')} runs, ${times.length} queries: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
  );
}

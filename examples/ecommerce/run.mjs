// Run: npm run build && node examples/ecommerce/run.mjs [--mode both|submit|session] [--end 2025-06-10T00:00:00Z]
//
// The ecommerce pipeline run by sparkpilot's orchestrator on real PySpark (the project's .venv, or
// SPARK_HOME + PYSPARK_PYTHON): generated hourly click and order events are loaded and cleaned once, then
// Q1 (distinct users who clicked "Register" in the last hour), Q2 (top 10 cities by sales last weekend) and
// Q3 (sales per category over the last day) run after it, in parallel.
//
// Two ways, one daily run each over the same interval:
// - `submit`: every job is its own spark-submit (`spark-submit` adapter); the queries read the clean
//   Parquet that load_clean wrote.
// - `session`: every job runs in one long-running SparkSession of sparkpilot's own (`spark-session`
//   adapter); load_clean publishes the clean frames (cached) and the queries reuse them.
// Each run's outputs are compared with expected.py (plain Python over the raw files), every finished job's
// event log is collected into the store and the recurring jobs get a recommendation, and the wall clock of
// both runs is printed: the saving of sharing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createOrchestrator,
  createTuner,
  definePipeline,
  openStore,
  sparkSessionAdapter,
  sparkSubmitAdapter,
} from '../../dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const mode = arg('mode', 'both');
const end = new Date(arg('end', '2025-06-10T00:00:00Z'));
const start = new Date(end.getTime() - 86_400_000);

const python = process.env.PYSPARK_PYTHON ?? join(root, '.venv/bin/python');
if (!existsSync(python)) {
  console.error(
    `No Python with PySpark at ${python}. Run: bash scripts/fixtures/setup-spark.sh (or set PYSPARK_PYTHON).`,
  );
  process.exit(1);
}
const sparkHome =
  process.env.SPARK_HOME ??
  execFileSync(python, ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'], {
    encoding: 'utf8',
  }).trim();
const pyJob = join(root, 'python/sparkpilot_job.py');

const work = mkdtempSync(join(tmpdir(), 'sparkpilot-ecommerce-'));
const raw = join(work, 'raw');
const eventLogs = join(work, 'event-logs');
mkdirSync(eventLogs);
console.log(`working in ${work}`);
execFileSync(
  python,
  [
    join(here, 'generate_data.py'),
    '--out',
    raw,
    '--end',
    end.toISOString(),
    '--days',
    '9',
    '--events-per-hour',
    '400',
  ],
  {
    stdio: 'inherit',
  },
);
execFileSync(
  python,
  [
    join(here, 'expected.py'),
    '--raw',
    raw,
    '--start',
    start.toISOString(),
    '--end',
    end.toISOString(),
    '--out',
    join(work, 'expected'),
  ],
  {
    stdio: 'inherit',
  },
);

const res = { executors: 1, coresPerExecutor: 2, executorMemory: '1g' };
const common = {
  'spark.eventLog.enabled': 'true',
  'spark.eventLog.dir': `file://${eventLogs}`,
  'spark.ui.enabled': 'false',
  'spark.sql.shuffle.partitions': '8',
};
const iv = ['--start', '{{ interval.start }}', '--end', '{{ interval.end }}'];
function pipeline(name, adapter) {
  const clean = join(work, name, 'clean');
  const out = join(work, name, 'out');
  const job = (file, extra) => ({
    name: file,
    application: { file: join(here, 'jobs', `${file}.py`) },
    resources: res,
    properties: common,
    adapter,
    retries: { attempts: 1, backoff: { initialMs: 5_000 } },
    timeoutMs: 15 * 60_000,
    ...extra,
  });
  return definePipeline({
    name,
    schedule: 'daily',
    jobs: [
      job('load_clean', {
        args: ['--raw', raw, '--clean', clean, ...iv],
        writes: ['clean_clicks', 'clean_orders'],
        priority: 10,
      }),
      job('q1_register_users', { args: ['--clean', clean, '--out', out, ...iv], reads: ['clean_clicks'] }),
      job('q2_top_cities_weekend', {
        args: ['--clean', clean, '--out', out, ...iv],
        reads: ['clean_orders'],
      }),
      job('q3_sales_by_category', { args: ['--clean', clean, '--out', out, ...iv], reads: ['clean_orders'] }),
    ],
  });
}

const env = { PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python };
const submit = sparkSubmitAdapter({
  sparkHome,
  master: 'local[2]',
  stateDir: join(work, 'spark-submit'),
  env,
  submitArgs: ['--py-files', pyJob],
  pollMs: 250,
});
const session = sparkSessionAdapter({
  sparkHome,
  master: 'local[2]',
  env,
  properties: { ...common, 'spark.app.name': 'ecommerce_session.driver' },
});
const pipelines = [];
if (mode !== 'session') pipelines.push(pipeline('ecommerce', 'default'));
if (mode !== 'submit') pipelines.push(pipeline('ecommerce_session', 'session'));

const store = await openStore(`sqlite:${join(work, 'sparkpilot.db')}`);
const tuner = createTuner(store);
const orchestrator = createOrchestrator({
  store,
  adapters: { default: submit, session },
  pipelines,
  schedule: false,
  statusPollMs: 250,
  pollMs: 1_000,
  concurrency: { global: 3 },
  collect: { eventLogDir: eventLogs, settleMs: 5_000 },
  tuner,
});
const durations = new Map();
orchestrator.on('job:submitted', ({ jobRun }) => console.log(`  submitted ${jobRun.pipeline}.${jobRun.job}`));
orchestrator.on('job:succeeded', ({ jobRun }) => {
  const ms = (jobRun.data.finishedAt ?? 0) - (jobRun.data.submittedAt ?? 0);
  durations.set(`${jobRun.pipeline}.${jobRun.job}`, ms);
  console.log(`  succeeded ${jobRun.pipeline}.${jobRun.job} in ${(ms / 1000).toFixed(1)} s`);
});
orchestrator.on('job:failed', ({ jobRun, error }) =>
  console.log(`  FAILED ${jobRun.pipeline}.${jobRun.job}: ${error.slice(0, 500)}`),
);
const collected = [];
orchestrator.on('job:collected', ({ jobRun, appId, recommendation }) =>
  collected.push(
    `${jobRun.pipeline}.${jobRun.job} -> ${appId}${recommendation ? ` (next: ${recommendation.settings.executors} x ${recommendation.settings.coresPerExecutor} cores, confidence ${recommendation.confidence.toFixed(2)})` : ''}`,
  ),
);
orchestrator.on('error', (err) => console.log(`  (background) ${err.message.slice(0, 300)}`));
await orchestrator.start();

const wall = {};
let ok = true;
for (const p of pipelines) {
  console.log(`\n${p.name}: run over [${start.toISOString()}, ${end.toISOString()})`);
  const t = Date.now();
  const run = await orchestrator.trigger(p.name, { start, end });
  const done = await orchestrator.waitForRun(run.id);
  wall[p.name] = Date.now() - t;
  console.log(`${p.name}: ${done.status} in ${(wall[p.name] / 1000).toFixed(1)} s`);
  for (const q of ['q1', 'q2', 'q3']) {
    const got = JSON.parse(readFileSync(join(work, p.name, 'out', `${q}.json`), 'utf8')).rows;
    const want = JSON.parse(readFileSync(join(work, 'expected', `${q}.json`), 'utf8')).rows;
    const sort = (rows) =>
      q === 'q2' ? rows : [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const same = JSON.stringify(sort(got)) === JSON.stringify(sort(want));
    ok &&= same && done.status === 'succeeded';
    console.log(
      `  ${q}: ${got.length} row(s), ${same ? 'same as expected.py' : 'DIFFERENT from expected.py'}`,
    );
  }
}
await session.close();
await orchestrator.stop();
console.log(`\nevent logs collected and analyzed: ${collected.length}`);
for (const c of collected) console.log(`  ${c}`);
if (wall.ecommerce && wall.ecommerce_session) {
  const q = (name) =>
    ['q1_register_users', 'q2_top_cities_weekend', 'q3_sales_by_category'].reduce(
      (s, j) => s + (durations.get(`${name}.${j}`) ?? 0),
      0,
    );
  console.log(
    `\nshared session: run ${(wall.ecommerce_session / 1000).toFixed(1)} s against ${(wall.ecommerce / 1000).toFixed(1)} s with a spark-submit per job ` +
      `(${(100 * (1 - wall.ecommerce_session / wall.ecommerce)).toFixed(0)}% less); the three queries took ${(q('ecommerce_session') / 1000).toFixed(1)} s ` +
      `of job time against ${(q('ecommerce') / 1000).toFixed(1)} s.`,
  );
}
await store.close();
process.exit(ok ? 0 : 1);

// Run: npm run build && node examples/tune-a-job.mjs [event log folder] [job name]
// A small host: stores the runs of a recurring job (by default the bundled real runs of one workload under
// several executor settings) in a throwaway SQLite file, analyzes the newest run, and asks for the next
// run's settings for each objective, with the predicted time and cost.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTuner, ingestEventLogs, openStore } from '../dist/index.js';

const workloads = fileURLToPath(new URL('../test/fixtures/workloads', import.meta.url));
const logs = process.argv[2] ?? workloads;
const job =
  process.argv[3] ??
  `sparkpilot-workload-${JSON.parse(readFileSync(join(workloads, 'manifest.json'), 'utf8')).runs[0].workload}`;

const store = await openStore(
  `sqlite:${join(mkdtempSync(join(tmpdir(), 'sparkpilot-example-')), 'store.db')}`,
);
try {
  const report = await ingestEventLogs(store, [logs]);
  console.log(`stored ${report.new} run(s)`);
  const tuner = createTuner(store, { pricing: { corePerHour: 0.05, gbPerHour: 0.006 }, maxExecutors: 16 });
  const newest = (await store.applications.list({ jobKey: job.toLowerCase(), limit: 1 })).items[0];
  if (newest) {
    const analysis = await tuner.analyze(newest.appId);
    console.log(
      `newest run ${newest.appId}: ${analysis.findings.length} finding(s), worst ${analysis.severity}`,
    );
    for (const f of analysis.findings.slice(0, 3)) console.log(`  [${f.severity}] ${f.id}: ${f.summary}`);
  }
  for (const objective of ['time', 'balanced', 'cost']) {
    const rec = await tuner.recommend(job, { objective });
    const s = rec.settings;
    const p = rec.prediction;
    console.log(
      `${objective}: ${s.executors} x ${s.coresPerExecutor} cores, ${s.executorMemoryMb} MiB -> ${(p.durationMs.value / 1000).toFixed(1)} s ` +
        `(${(p.durationMs.low / 1000).toFixed(1)} to ${(p.durationMs.high / 1000).toFixed(1)}), cost ${p.cost.value.toFixed(5)}, confidence ${rec.confidence.toFixed(2)}`,
    );
  }
} finally {
  await store.close();
}

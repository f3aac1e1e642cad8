// Run: npm run build && node examples/summarize-logs.mjs [paths...]
// Reads event logs and prints, per application attempt, the slowest stages and the failure reasons.
import { fileURLToPath } from 'node:url';
import { eventLogCollector } from '../dist/index.js';

const paths = process.argv.slice(2);
if (paths.length === 0) paths.push(fileURLToPath(new URL('../test/fixtures/spark-events', import.meta.url)));

const collector = eventLogCollector();
const { applications, failures } = await collector.collect(paths);
for (const app of applications) {
  const attempt = app.application.attempts[0];
  console.log(
    `${app.appId}${app.attemptId ? `/${app.attemptId}` : ''} ${app.application.name}: ${attempt.duration} ms`,
  );
  const slowest = [...app.stages].sort((a, b) => b.executorRunTime - a.executorRunTime).slice(0, 3);
  for (const s of slowest) {
    const median = s.taskMetricsDistributions?.duration[5];
    const max = s.taskMetricsDistributions?.duration.at(-1);
    console.log(
      `  stage ${s.stageId}.${s.attemptId} ${s.name}: ${s.numTasks} tasks, run ${s.executorRunTime} ms, task median ${median} ms, max ${max} ms`,
    );
  }
  for (const f of app.failures) console.log(`  ${f.count} x ${f.reason} ${f.className ?? ''}`);
}
for (const f of failures) console.error(f.error.message);
process.exitCode = failures.length ? 1 : 0;

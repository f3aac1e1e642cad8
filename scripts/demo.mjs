#!/usr/bin/env node
// `npm run demo`: builds sparkpilot if needed, then ingests the event logs that real Spark wrote into
// test/fixtures/spark-events (every codec, a rolling log, in-progress logs, failed tasks, History Server
// zips) into an embedded SQLite database (.demo/sparkpilot.db), lists what it stored, and shows one attempt.
// Then it ingests real runs of a workload under several executor settings (test/fixtures/workloads),
// analyzes the run with failed tasks, and recommends the next run's settings for the workload.
// Run it twice: the second ingest skips every log, because none changed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}dist/cli.js`) || process.env.SPARKPILOT_DEMO_REBUILD) {
  const b = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const db = process.env.SPARKPILOT_DEMO_DB ?? `sqlite:${root}.demo/sparkpilot.db`;
const cli = (title, ...args) => {
  process.stdout.write(`\n$ sparkpilot ${args.join(' ').replace(root, '')}\n`);
  const r = spawnSync(process.execPath, [`${root}dist/cli.js`, ...args, '--db', db], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`demo step "${title}" failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
};
cli('ingest', 'ingest', `${root}test/fixtures/spark-events`, '--no-progress');
cli('list', 'apps', 'list', '--limit', '20');
const scenarios = JSON.parse(
  readFileSync(`${root}test/fixtures/spark-events/fixtures.json`, 'utf8'),
).scenarios;
const failures = scenarios.find((s) => s.scenario === 'failures').appId;
cli('show', 'apps', 'show', failures);
cli('ingest workloads', 'ingest', `${root}test/fixtures/workloads`, '--no-progress');
cli('analyze', 'analyze', failures);
const workload = JSON.parse(readFileSync(`${root}test/fixtures/workloads/manifest.json`, 'utf8')).runs[0]
  .workload;
cli('recommend', 'recommend', '--job', `sparkpilot-workload-${workload}`, '--objective', 'balanced');

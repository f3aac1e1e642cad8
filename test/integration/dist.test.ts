import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture, sharedData } from '../helpers/data.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

describe('the built package', () => {
  it('loads through import and require, with one shared registry and brand-based instanceof', async () => {
    const esm = await import(`${root}dist/index.js`);
    const cjs = require(`${root}dist/index.cjs`);
    expect(typeof esm.eventLogCollector).toBe('function');
    expect(typeof cjs.eventLogCollector).toBe('function');
    expect(esm.listFactories('collector')).toEqual(['event-log']);
    expect(cjs.listFactories('collector')).toEqual(['event-log']);
    expect(esm.listFactories('analyzer')).toEqual(['job']);
    expect(cjs.listFactories('adapter')).toEqual([
      'in-memory',
      'livy',
      'spark-session',
      'spark-submit',
      'standalone-rest',
    ]);
    expect(esm.getFactory('adapter', 'spark-submit')).toBe(cjs.getFactory('adapter', 'spark-submit'));
    expect(typeof cjs.createOrchestrator).toBe('function');
    expect(cjs.listFactories('recommender')).toEqual(['ensemble', 'model', 'rule-based', 'similarity']);
    expect(esm.getFactory('recommender', 'ensemble')).toBe(cjs.getFactory('recommender', 'ensemble'));
    const fromCjs = new cjs.EventLogError('SPARKPILOT_EVENTLOG_CORRUPT', { file: 'x' }, 'bad');
    expect(fromCjs).toBeInstanceOf(esm.SparkpilotError);
    expect(fromCjs).toBeInstanceOf(esm.EventLogError);
    expect(fromCjs).not.toBeInstanceOf(esm.ConfigError);
    const testingEsm = await import(`${root}dist/testing.js`);
    const testingCjs = require(`${root}dist/testing.cjs`);
    expect(typeof testingEsm.describeCollectorConformance).toBe('function');
    expect(typeof testingCjs.modelInvariantViolations).toBe('function');
  });

  it('parses on worker threads with the same result as in-process', async () => {
    const esm = await import(`${root}dist/index.js`);
    const parallel = await esm.eventLogCollector({ workers: 2 }).collect(sharedData('spark-events'));
    const serial = await esm.eventLogCollector({ workers: 1 }).collect(sharedData('spark-events'));
    const offThread = await esm.eventLogCollector({ workers: 2 }).collect(sharedData('spark-events'), {
      callingThread: false,
    });
    expect(parallel.applications.length).toBe(18);
    expect(JSON.stringify(parallel.applications)).toBe(JSON.stringify(serial.applications));
    expect(JSON.stringify(offThread.applications)).toBe(JSON.stringify(serial.applications));
  });

  it('reads a compressed log renamed without its codec extension on a worker thread as on the calling thread', async () => {
    const esm = await import(`${root}dist/index.js`);
    const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-dist-'));
    const renamed = join(dir, 'local-1795266230587');
    copyFileSync(fixture('spark-events/codec-lz4/local-1795266230587.lz4'), renamed);
    const paths = [renamed, sharedData('spark-events/local-1430917381534')];
    const here = await esm.eventLogCollector({ workers: 1 }).collect(paths);
    const workers = await esm.eventLogCollector({ workers: 2 }).collect(paths, { callingThread: false });
    expect(here.applications.map((a: { appId: string }) => a.appId)).toEqual([
      'local-1430917381534',
      'local-1795266230587',
    ]);
    expect(JSON.stringify(workers.applications)).toBe(JSON.stringify(here.applications));
    expect(workers.warnings.filter((w: { code: string }) => w.code === 'codec')).toHaveLength(1);
  });
});

describe('a parser worker thread that stops', () => {
  it('has its logs in flight and the rest parsed on the calling thread, with a warning', async () => {
    // The built package copied under the project (so its imports resolve), its worker entry replaced by
    // one that exits on the first log it is sent: the collector has sent it two by then.
    const copy = join(root, '.tmp', `dist-dying-worker-${process.pid}`);
    rmSync(copy, { recursive: true, force: true });
    cpSync(join(root, 'dist'), copy, { recursive: true });
    try {
      writeFileSync(
        join(copy, 'collect/event-log/worker.js'),
        "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n",
      );
      // The package itself first: the shared registry keeps the first copy's built-ins, not this one's.
      const esm = await import(`${root}dist/index.js`);
      const dying = await import(join(copy, 'index.js'));
      const folder = sharedData('spark-events');
      const got = await dying.eventLogCollector({ workers: 2 }).collect(folder);
      const serial = await esm.eventLogCollector({ workers: 1 }).collect(folder);
      expect(got.failures).toEqual([]);
      expect(got.applications.length).toBe(18);
      expect(JSON.stringify(got.applications)).toBe(JSON.stringify(serial.applications));
      const exited = got.warnings.filter((w: { code: string }) => w.code === 'worker-exited');
      expect(exited).toHaveLength(1);
      expect(exited[0].message).toContain('worker thread exited with code 3');
      expect(exited[0].message).toContain('with 2 log(s) in flight');
      expect(got.warnings.filter((w: { code: string }) => w.code !== 'worker-exited')).toEqual(
        serial.warnings,
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('ingest through the built package', () => {
  it('stores from worker threads exactly what the collector reads, for a Knex store and any other repository', async () => {
    const esm = await import(`${root}dist/index.js`);
    const { firstDifference } = await import(`${root}dist/testing.js`);
    const folders = [sharedData('spark-events'), sharedData('more-events')];
    const expected = (await esm.eventLogCollector({ workers: 1 }).collect(folders)).applications as {
      appId: string;
      attemptId?: string;
    }[];
    // Some attempts are in both folders: which copy is stored last depends on timing, so compare the others.
    const key = (m: { appId: string; attemptId?: string }) => `${m.appId}/${m.attemptId ?? ''}`;
    const count = new Map<string, number>();
    for (const m of expected) count.set(key(m), (count.get(key(m)) ?? 0) + 1);
    const once = expected.filter((m) => count.get(key(m)) === 1);
    expect(once.length).toBeGreaterThan(20);
    const stored = async (store: { applications: { get(a: string, b?: string): Promise<unknown> } }) => {
      for (const m of once) {
        expect(firstDifference(await store.applications.get(m.appId, m.attemptId ?? ''), m)).toBeUndefined();
      }
    };
    // A Knex store: the worker threads turn models into rows, the calling thread writes them in batches.
    const knexStore = await esm.openStore('sqlite::memory:');
    const report = await esm.ingestEventLogs(knexStore, folders, { workers: 2 });
    expect(report.new).toBe(count.size);
    expect(report.new + report.updated + report.unchanged).toBe(expected.length);
    expect(report.failed).toEqual([]);
    await stored(knexStore);
    // Rows made on a worker thread hash as the calling thread's: saving the same models again changes nothing.
    const again = await knexStore.applications.saveMany(once);
    expect(again.map((r: { outcome: string }) => r.outcome)).toEqual(once.map(() => 'unchanged'));
    // Any other repository is handed models.
    const other = await esm.openStore('sqlite::memory:');
    const inner = other.applications;
    const wrapped = {
      save: inner.save.bind(inner),
      saveMany: inner.saveMany.bind(inner),
      get: inner.get.bind(inner),
      attempts: inner.attempts.bind(inner),
      list: inner.list.bind(inner),
      remove: inner.remove.bind(inner),
    };
    const report2 = await esm.ingestEventLogs({ applications: wrapped, ledger: other.ledger }, folders, {
      workers: 2,
    });
    expect(report2.new).toBe(count.size);
    await stored(other);
    await knexStore.close();
    await other.close();
  });
});

describe('sparkpilot inspect', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [`${root}dist/cli.js`, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });

  it('prints one JSON document in the History Server shapes', () => {
    const r = cli(
      'inspect',
      '--json',
      sharedData('spark-events/local-1422981780767'),
      sharedData('spark-events-broken/last-attempt-incomplete'),
    );
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(
      doc.applications.map((a: { appId: string; attemptId?: string }) => [a.appId, a.attemptId]),
    ).toEqual([
      ['application_1656321732247_0006', '1'],
      ['application_1656321732247_0006', '2'],
      ['local-1422981780767', undefined],
    ]);
    const local = doc.applications[2];
    expect(local).not.toHaveProperty('attemptId');
    expect(local.application.attempts[0].duration).toBe(9011);
    expect(local.jobs.map((j: { jobId: number; status: string }) => `${j.jobId}:${j.status}`)).toEqual([
      '2:SUCCEEDED',
      '1:FAILED',
      '0:SUCCEEDED',
    ]);
    expect(local.executors.map((e: { id: string }) => e.id)).toEqual(['driver']);
    expect(local.environment.sparkProperties.length).toBeGreaterThan(0);
    const incomplete = doc.applications[1];
    expect(incomplete.application.attempts[0].completed).toBe(false);
    expect(doc.warnings.some((w: { code: string }) => w.code === 'incomplete')).toBe(true);
  });

  it('prints a readable summary and exits 1 when a path cannot be read at all', () => {
    const r = cli('inspect', sharedData('spark-events/local-1430917381534'), '/no/such/log');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('local-1430917381534');
    expect(r.stdout).toMatch(/tasks 110/);
    expect(r.stderr).toContain('/no/such/log: no such file or directory');
  });

  it('names a non-Spark file given explicitly', () => {
    const r = cli('inspect', sharedData('MANIFEST.md'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MANIFEST\.md: not a Spark event log/);
  });
});

describe('the example and the demo', () => {
  it('examples/summarize-logs.mjs runs on the bundled logs', () => {
    const r = spawnSync(
      process.execPath,
      [`${root}examples/summarize-logs.mjs`, `${root}test/fixtures/spark-events/failures`],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^app-\d+-\d+ sparkpilot-fixture-failures: \d+ ms/m);
    expect(r.stdout).toMatch(/\d+ x ExceptionFailure org\.apache\.spark\.api\.python\.PythonException/);
  });

  it('examples/tune-a-job.mjs stores the workload runs and recommends settings for each objective', () => {
    const r = spawnSync(process.execPath, [`${root}examples/tune-a-job.mjs`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const runs = JSON.parse(readFileSync(`${root}test/fixtures/workloads/manifest.json`, 'utf8')).runs;
    expect(r.stdout).toContain(`stored ${runs.length} run(s)`);
    for (const objective of ['time', 'balanced', 'cost']) {
      expect(r.stdout).toMatch(new RegExp(`^${objective}: \\d+ x \\d+ cores, \\d+ MiB -> [\\d.]+ s`, 'm'));
    }
  });

  it('npm run demo ingests the bundled logs into SQLite, lists them, and skips them the second time', () => {
    const env = {
      ...process.env,
      SPARKPILOT_DEMO_DB: `sqlite:${mkdtempSync(join(tmpdir(), 'sparkpilot-demo-'))}/demo.db`,
    };
    const scenarios = JSON.parse(
      readFileSync(`${root}test/fixtures/spark-events/fixtures.json`, 'utf8'),
    ).scenarios;
    const first = spawnSync(process.execPath, [`${root}scripts/demo.mjs`], { encoding: 'utf8', env });
    expect(first.status).toBe(0);
    // Every scenario folder is new; the two attempts inside the History Server zips are the same content.
    expect(first.stdout).toContain(`new ${scenarios.length - 1}, updated 0, unchanged 2, skipped 0`);
    expect(first.stdout).toMatch(/APP ID\s+ATTEMPT\s+NAME\s+STATUS/);
    expect(first.stdout).toContain('sparkpilot-fixture-failures');
    expect(first.stdout).toMatch(/failure: ExceptionFailure/);
    // It ends with the analysis of the run with failed tasks and a recommendation for a workload.
    expect(first.stdout).toMatch(/\[critical\] task-failures: Failed tasks/);
    expect(first.stdout).toMatch(
      /rec_[0-9a-f-]+ for job "sparkpilot-workload-\w+" \(ensemble, objective balanced\), confidence 0\.\d\d/,
    );
    expect(first.stdout).toMatch(/^--conf spark\.executor\.cores=\d+$/m);
    const second = spawnSync(process.execPath, [`${root}scripts/demo.mjs`], { encoding: 'utf8', env });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`new 0, updated 0, unchanged 0, skipped ${scenarios.length + 1}`);
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isTerminal,
  type SubmissionAdapter,
  SubmissionError,
  type SubmissionRequest,
  type SubmissionStatus,
} from '../../src/adapters/adapter.js';
import {
  errorExcerpt,
  parseDriverId,
  parseSparkAppId,
  type SparkSubmitAdapterOptions,
  sparkSubmitAdapter,
} from '../../src/adapters/spark-submit.js';
import { ConfigError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/testing/index.js';
import {
  type StandaloneCluster,
  sparkHome,
  startStandalone,
  testAppJar,
  venvPython,
} from '../helpers/spark.js';

const scripts = mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-apps-'));
const OK = join(scripts, 'ok.py');
const FAIL = join(scripts, 'fail.py');
const SLEEP = join(scripts, 'sleep.py');
writeFileSync(
  OK,
  [
    'import sys, time',
    'from pyspark.sql import SparkSession',
    'spark = SparkSession.builder.getOrCreate()',
    'n = spark.range(1000).count()',
    'print(f"sparkpilot-ok count={n}", flush=True)',
    'if len(sys.argv) > 1: time.sleep(float(sys.argv[1]))',
    'spark.stop()',
    '',
  ].join('\n'),
);
writeFileSync(FAIL, 'raise ValueError("sparkpilot test failure on purpose")\n');
writeFileSync(SLEEP, 'import time\ntime.sleep(60)\n');

/** Small local runs: one core, no UI. */
const LOCAL_PROPS = { 'spark.ui.enabled': 'false', 'spark.sql.shuffle.partitions': '1' };

const localAdapter = (stateDir: string, extra: Partial<SparkSubmitAdapterOptions> = {}) =>
  sparkSubmitAdapter({
    sparkHome: sparkHome(),
    master: 'local[1]',
    stateDir,
    env: { PYSPARK_PYTHON: venvPython(), PYSPARK_DRIVER_PYTHON: venvPython(), SPARK_LOCAL_IP: '127.0.0.1' },
    pollMs: 200,
    killGraceMs: 5_000,
    ...extra,
  });

const request = (application: SubmissionRequest['application'], args: string[] = []): SubmissionRequest => ({
  submissionKey: `spark-submit-test-${randomUUID()}`,
  application,
  args,
  properties: { ...LOCAL_PROPS },
  name: 'sparkpilot-spark-submit-test',
});

async function waitFor(
  adapter: SubmissionAdapter,
  id: string,
  done: (s: SubmissionStatus) => boolean = (s) => isTerminal(s.state),
  ms = 120_000,
): Promise<SubmissionStatus> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await adapter.status(id);
    if (done(s)) return s;
    if (isTerminal(s.state) || Date.now() > deadline) {
      throw new Error(`submission ${id}: gave up waiting, last status ${JSON.stringify(s)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The spark-submit JVMs (not the launcher) running with this submission key. */
function sparkSubmitJvms(key: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (
      cmd.includes(`spark.sparkpilot.submissionKey=${key}`) &&
      cmd.includes('org.apache.spark.deploy.SparkSubmit') &&
      !cmd.includes('org.apache.spark.launcher.Main')
    ) {
      n++;
    }
  }
  return n;
}

const conformanceDir = mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-conformance-'));
describeAdapterConformance('spark-submit (local[1], client mode)', {
  test: { describe, it, expect },
  create: () => ({ adapter: localAdapter(conformanceDir) }),
  application: { file: OK },
  failing: { file: FAIL },
  cancellable: { file: SLEEP },
  properties: LOCAL_PROPS,
  timeoutMs: 90_000,
  pollMs: 250,
});

describe('spark-submit adapter, local master, client mode', () => {
  it('is found by a new adapter instance after a restart, which follows it to the end; a repeated submit starts nothing', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-restart-'));
    const first = localAdapter(stateDir);
    const req = request({ file: OK }, ['3']);
    const sub = await first.submit(req);
    expect(sub.submissionId).toMatch(/^spark-submit:[0-9a-f]{32}$/);
    const running = await waitFor(first, sub.submissionId, (s) => s.appId !== undefined);
    expect(running.state).toBe('RUNNING');
    expect(running.appId).toMatch(/^local-\d{13}$/);
    expect(sparkSubmitJvms(req.submissionKey)).toBe(1);

    // The orchestrator restarts: a new instance on the same stateDir.
    const second = localAdapter(stateDir);
    const found = await second.findBySubmissionKey(req.submissionKey);
    expect(found).toEqual({
      submissionId: sub.submissionId,
      submissionKey: req.submissionKey,
      appId: running.appId,
    });
    const again = await second.submit({ ...req });
    expect(again.submissionId).toBe(sub.submissionId);
    expect(sparkSubmitJvms(req.submissionKey)).toBe(1);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toHaveLength(1);

    const end = await waitFor(second, sub.submissionId);
    expect(end).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, appId: running.appId });
    expect(await first.status(sub.submissionId)).toEqual(end);
    const record = await second.inspect(sub.submissionId);
    expect(record).toMatchObject({ submissionKey: req.submissionKey, deployMode: 'client', final: end });
    const log = readFileSync(record.logFile, 'utf8');
    expect(log.match(/SparkContext: Running Spark version/g)).toHaveLength(1);
    expect(log).toContain('sparkpilot-ok count=1000');
    expect(await second.logs(sub.submissionId)).toContain('sparkpilot-ok count=1000');
    // The driver-log copy that named the application id is gone once the submission ended.
    expect(readdirSync(join(stateDir, 'driver-logs'))).toEqual([]);
  });

  it('reports a failing application FAILED, with the exit code and the Python error', async () => {
    const adapter = localAdapter(mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-fail-')));
    const sub = await adapter.submit(request({ file: FAIL }));
    const end = await waitFor(adapter, sub.submissionId);
    expect(end.state).toBe('FAILED');
    expect(end.exitCode).toBe(1);
    expect(end.message).toContain('spark-submit exited with code 1');
    expect(end.message).toContain('Traceback (most recent call last):');
    expect(end.message).toContain('ValueError: sparkpilot test failure on purpose');
  });

  it('reports FAILED when spark-submit vanished without an exit code (SIGKILL, host restart)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-vanished-'));
    const adapter = localAdapter(stateDir);
    const sub = await adapter.submit(request({ file: SLEEP }));
    expect((await adapter.status(sub.submissionId)).state).toBe('RUNNING');
    const { pid } = await adapter.inspect(sub.submissionId);
    expect(pid).toBeGreaterThan(0);
    process.kill(-pid!, 'SIGKILL');
    const end = await waitFor(localAdapter(stateDir), sub.submissionId, (s) => s.state !== 'RUNNING', 20_000);
    expect(end.state).toBe('FAILED');
    expect(end.exitCode).toBeUndefined();
    expect(end.message).toContain(
      `spark-submit (process group ${pid}) ended without recording its exit code`,
    );
  });

  it('rejects a submit without a spark-submit, or of a missing file, naming the path; refuses cluster mode on local', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-missing-'));
    const noSpark = sparkSubmitAdapter({ sparkHome: join(stateDir, 'no-spark'), stateDir });
    const err = await noSpark.submit(request({ file: OK })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmissionError);
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED', retryable: false });
    expect((err as Error).message).toContain(join(stateDir, 'no-spark', 'bin', 'spark-submit'));

    const missing = join(scripts, 'no-such-job.py');
    const err2 = await localAdapter(stateDir)
      .submit(request({ file: missing }))
      .catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED' });
    expect((err2 as Error).message).toContain(missing);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);

    expect(() => sparkSubmitAdapter({ master: 'local[2]', deployMode: 'cluster' })).toThrow(ConfigError);
  });
});

// The three drivers run side by side (the worker offers 4 cores: a driver and an executor each need one).
describe.concurrent('spark-submit adapter, standalone master, cluster mode', () => {
  let cluster: StandaloneCluster;
  let adapter: ReturnType<typeof sparkSubmitAdapter>;
  const app = testAppJar();
  const jarRequest = (mode: string): SubmissionRequest => ({
    submissionKey: `spark-submit-cluster-${randomUUID()}`,
    application: { className: app.className, jar: app.jar },
    args: [mode],
    properties: {
      'spark.driver.memory': '512m',
      'spark.executor.memory': '512m',
      'spark.cores.max': '1',
      'spark.ui.enabled': 'false',
    },
    name: `sparkpilot-cluster-${mode.replace(/:.*/, '')}`,
  });

  beforeAll(async () => {
    cluster = await startStandalone({ cores: 4, memory: '4g' });
    adapter = sparkSubmitAdapter({
      sparkHome: sparkHome(),
      master: cluster.masterUrl,
      deployMode: 'cluster',
      masterWebUrl: cluster.webUrl,
      stateDir: mkdtempSync(join(tmpdir(), 'sparkpilot-spark-submit-cluster-')),
      env: { SPARK_LOCAL_IP: '127.0.0.1' },
      pollMs: 250,
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a driver to SUCCEEDED, with its driver id and application id', async ({ expect }) => {
    const sub = await adapter.submit(jarRequest('ok'));
    const record = await adapter.inspect(sub.submissionId);
    expect(record.driverId).toMatch(/^driver-\d{14}-\d{4}$/);
    const end = await waitFor(adapter, sub.submissionId);
    expect(end.state).toBe('SUCCEEDED');
    expect(end.appId).toMatch(/^app-\d{14}-\d{4}$/);
    const logs = await adapter.logs(sub.submissionId);
    expect(logs).toContain(`Driver successfully submitted as ${record.driverId}`);
    expect(logs).toContain('sparkpilot-test-app: counted 8');
  });

  it('reports a driver that exits non-zero FAILED, with its stderr', async ({ expect }) => {
    const sub = await adapter.submit(jarRequest('fail'));
    const end = await waitFor(adapter, sub.submissionId);
    expect(end.state).toBe('FAILED');
    expect(end.message).toContain(
      `Driver ${(await adapter.inspect(sub.submissionId)).driverId} ended FAILED`,
    );
    expect(end.message).toContain('sparkpilot-test-app: failing on purpose');
  });

  it('cancels a running driver to KILLED', async ({ expect }) => {
    const sub = await adapter.submit(jarRequest('sleep:60000'));
    await waitFor(adapter, sub.submissionId, (s) => s.state === 'RUNNING');
    await adapter.cancel(sub.submissionId);
    const end = await waitFor(adapter, sub.submissionId, undefined, 30_000);
    expect(end.state).toBe('KILLED');
    await adapter.cancel(sub.submissionId);
    expect((await adapter.status(sub.submissionId)).state).toBe('KILLED');
  });
});

describe('spark-submit output parsing (lines as Spark 4.3 prints them)', () => {
  it('finds the application id in the lines that carry it', () => {
    expect(
      parseSparkAppId(
        '26/11/30 22:44:25 INFO DriverLogger$DfsAsyncWriter: Started driver log file sync to: file:/tmp/s/driver-logs/local-1796078664633_driver.log',
      ),
    ).toBe('local-1796078664633');
    expect(
      parseSparkAppId(
        '26/11/30 22:45:26 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261130224526-0000',
      ),
    ).toBe('app-20261130224526-0000');
    expect(
      parseSparkAppId(
        '26/11/30 22:44:24 INFO RollingEventLogFilesWriter: Logging events to file:/tmp/ev/eventlog_v2_local-1796078664633/events_1_local-1796078664633.zstd',
      ),
    ).toBe('local-1796078664633');
    expect(
      parseSparkAppId(
        'INFO SingleEventLogFileWriter: Logging events to hdfs:/logs/application_1700000000000_0042_1.lz4.inprogress',
      ),
    ).toBe('application_1700000000000_0042');
    expect(parseSparkAppId('INFO Client: Submitted application application_1700000000000_0042')).toBe(
      'application_1700000000000_0042',
    );
    expect(parseSparkAppId('26/11/30 22:43:35 INFO SparkContext: Submitted application: t1')).toBeUndefined();
  });

  it('finds the driver id spark-submit printed in cluster mode', () => {
    expect(
      parseDriverId(
        'INFO ClientEndpoint: Driver successfully submitted as driver-20261130224520-0000',
        'standalone',
      ),
    ).toBe('driver-20261130224520-0000');
    expect(
      parseDriverId(
        'INFO RestSubmissionClient: Submission successfully created as driver-20261130224728-0001. Polling submission state...',
        'standalone',
      ),
    ).toBe('driver-20261130224728-0001');
    expect(parseDriverId('INFO Client: Submitted application application_1700000000000_0042', 'yarn')).toBe(
      'application_1700000000000_0042',
    );
    expect(
      parseDriverId(
        'INFO Client: Deployed Spark application etl with application ID spark-0df2be7b2d8d40299e7a406564c9833c and submission ID spark-jobs:etl-1700000000000-driver into Kubernetes',
        'k8s',
      ),
    ).toBe('spark-jobs:etl-1700000000000-driver');
    expect(
      parseDriverId(
        'Application status (driver): \n\t pod name: etl-driver\n\t namespace: spark-jobs\n\t phase: Running',
        'k8s',
      ),
    ).toBe('spark-jobs:etl-driver');
  });

  it('takes the last error lines of a driver log', () => {
    const jvm = [
      '26/11/30 22:47:24 INFO SparkContext: Running Spark version 4.3.0',
      'Exception in thread "main" org.apache.spark.SparkException: Cluster deploy mode is currently not supported for python applications on standalone clusters.',
      '\tat org.apache.spark.deploy.SparkSubmit.error(SparkSubmit.scala:1068)',
      '\tat org.apache.spark.deploy.SparkSubmit.prepareSubmitEnvironment(SparkSubmit.scala:300)',
    ].join('\n');
    expect(errorExcerpt(jvm)).toBe(
      'Exception in thread "main" org.apache.spark.SparkException: Cluster deploy mode is currently not supported for python applications on standalone clusters.',
    );
    expect(
      errorExcerpt('26/11/30 22:51:01 INFO SparkContext: stopped\nsparkpilot-test-app: failing on purpose\n'),
    ).toBe('sparkpilot-test-app: failing on purpose');
  });
});

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTerminal, type SubmissionStatus } from '../../src/adapters/adapter.js';
import {
  type SparkSessionAdapter,
  sparkpilotPythonDir,
  sparkSessionAdapter,
} from '../../src/adapters/spark-session.js';
import { describeAdapterConformance } from '../../src/testing/adapter-conformance.js';
import { sparkEnv, sparkHome, venvPython } from '../helpers/spark.js';

const work = mkdtempSync(join(tmpdir(), 'sparkpilot-session-test-'));
const realHome = sparkHome();

// A Spark home whose bin/spark-submit counts its spawns, then runs the real one.
const spawnCount = join(work, 'spark-submit-spawns');
const countingHome = join(work, 'spark-home');
mkdirSync(join(countingHome, 'bin'), { recursive: true });
writeFileSync(
  join(countingHome, 'bin/spark-submit'),
  `#!/usr/bin/env bash\necho "$$" >> '${spawnCount}'\nexport SPARK_HOME='${realHome}'\nexec '${realHome}/bin/spark-submit' "$@"\n`,
);
chmodSync(join(countingHome, 'bin/spark-submit'), 0o755);
const spawns = () => readFileSync(spawnCount, 'utf8').trim().split('\n').filter(Boolean).length;

const job = (name: string, body: string) => {
  const file = join(work, name);
  writeFileSync(
    file,
    `${body.trim()}\n\n\nif __name__ == "__main__":\n    from sparkpilot_job import main\n    main(run)\n`,
  );
  return file;
};

const okPy = job(
  'ok.py',
  `
def run(ctx):
    n = ctx.spark.range(10).count()
    print("ok.py counted %d" % n)
    assert n == 10
`,
);
const failsPy = job(
  'fails.py',
  `
def run(ctx):
    ctx.spark.range(3).count()
    raise ValueError("failing on purpose")
`,
);
const cancellablePy = job(
  'cancellable.py',
  `
import time

def run(ctx):
    # 60 one-second tasks on 2 partitions: 30 s unless cancelJobGroup interrupts it.
    ctx.spark.sparkContext.parallelize(range(60), 2).map(lambda x: time.sleep(1) or x).count()
`,
);
const foreverPy = job(
  'forever.py',
  `
import time

def run(ctx):
    print("forever.py started")
    ctx.spark.sparkContext.parallelize(range(1), 1).map(lambda x: time.sleep(120) or x).count()
`,
);
// Loads a CSV through a Python UDF that leaves one file per row it computes in a counter directory, so the
// test can count how often the source was computed (20 files per computation); publishes or reuses it as "events"; writes what it saw.
const eventsPy = job(
  'events.py',
  `
import json, os, uuid
from pyspark.sql.functions import col, udf

def run(ctx):
    role, src, counter, out = ctx.args[:4]

    def tick(v):
        open(os.path.join(counter, uuid.uuid4().hex), "w").close()
        return True

    def load():
        # A filter, so that no action can prune the UDF away.
        t = udf(tick, "boolean")
        return ctx.spark.read.csv(src, header=True).where(t(col("id"))).select(
            col("id"), col("value").cast("int").alias("value"))

    df = ctx.dataset("events", load)
    if role == "publish":
        df = ctx.publish("events", df)
    print("events.py %s in run %s" % (role, ctx.run_id))
    rows = df.count()
    total = df.groupBy().sum("value").collect()[0][0]
    with open(out, "w") as f:
        json.dump({
            "role": role,
            "runId": ctx.run_id,
            "confRunId": ctx.conf.get("spark.sparkpilot.run.id"),
            "shared": ctx.shared,
            "reused": ctx.reused("events"),
            "rows": rows,
            "sum": total,
            "shufflePartitions": ctx.spark.conf.get("spark.sql.shuffle.partitions"),
        }, f)
`,
);

const csv = join(work, 'events.csv');
writeFileSync(csv, `id,value\n${Array.from({ length: 20 }, (_, i) => `${i},${i}`).join('\n')}\n`);
const counterDir = (name: string) => {
  const dir = join(work, `computed-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const computed = (dir: string) => readdirSync(dir).length;
const readOut = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

const options = {
  sparkHome: countingHome,
  master: 'local[2]',
  python: venvPython(),
  env: { SPARK_LOCAL_IP: '127.0.0.1' },
  properties: {
    'spark.ui.enabled': 'false',
    'spark.sql.shuffle.partitions': '2',
    'spark.sql.warehouse.dir': join(work, 'warehouse'),
  },
  startTimeoutMs: 150_000,
  shutdownGraceMs: 20_000,
};

// One adapter (so one driver) for the conformance suite and the sharing tests: a JVM start costs 10-25 s here.
let shared: SparkSessionAdapter | undefined;
const adapter = () => {
  shared ??= sparkSessionAdapter(options);
  return shared;
};

afterAll(async () => {
  await shared?.close();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function waitFor(
  a: SparkSessionAdapter,
  id: string,
  done: (s: SubmissionStatus) => boolean = (s) => isTerminal(s.state),
  ms = 90_000,
): Promise<SubmissionStatus> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await a.status(id);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`${id} still ${s.state} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeAdapterConformance('spark-session (local[2], one shared driver)', {
  test: { describe, it, expect },
  create: () => ({ adapter: adapter() }),
  application: { file: okPy },
  failing: { file: failsPy },
  cancellable: { file: cancellablePy },
  timeoutMs: 90_000,
  pollMs: 100,
});

describe('spark-session: datasets shared within a pipeline run', () => {
  it('computes the source once for a publisher and two dependents of one run, again for another run and after release', async () => {
    const a = adapter();
    const r1 = counterDir('r1');
    const r2 = counterDir('r2');
    const submit = (
      key: string,
      role: string,
      runId: string,
      counter: string,
      extra: Record<string, string> = {},
    ) =>
      a.submit({
        submissionKey: key,
        name: `events-${role}`,
        application: { file: eventsPy },
        args: [role, csv, counter, join(work, `${key}.json`)],
        properties: { 'spark.sparkpilot.run.id': runId, ...extra },
      });

    const pub = await submit('share-a', 'publish', 'r1', r1);
    expect((await waitFor(a, pub.submissionId)).state).toBe('SUCCEEDED');
    expect(computed(r1)).toBe(20);

    const b = await submit('share-b', 'use', 'r1', r1, { 'spark.sql.shuffle.partitions': '3' });
    const c = await submit('share-c', 'use', 'r1', r1);
    expect([b.appId, c.appId]).toEqual([pub.appId, pub.appId]);
    expect((await waitFor(a, b.submissionId)).state).toBe('SUCCEEDED');
    expect((await waitFor(a, c.submissionId)).state).toBe('SUCCEEDED');
    // B and C got the cached frame: the source was not computed again.
    expect(computed(r1)).toBe(20);

    // Another run: not reused, computed (once, as it publishes) for that run.
    const d = await submit('share-d', 'publish', 'r2', r2);
    expect((await waitFor(a, d.submissionId)).state).toBe('SUCCEEDED');
    expect(computed(r2)).toBe(20);
    expect(computed(r1)).toBe(20);

    expect(await a.release('r1')).toEqual(['events']);
    const e = await submit('share-e', 'publish', 'r1', r1);
    expect((await waitFor(a, e.submissionId)).state).toBe('SUCCEEDED');
    expect(computed(r1)).toBe(40);

    const common = { rows: 20, sum: 190, shared: true };
    expect(readOut(join(work, 'share-a.json'))).toEqual({
      ...common,
      role: 'publish',
      runId: 'r1',
      confRunId: 'r1',
      reused: false,
      shufflePartitions: '2',
    });
    // B's spark.sql.* property applies to B's session only.
    expect(readOut(join(work, 'share-b.json'))).toMatchObject({
      ...common,
      runId: 'r1',
      reused: true,
      shufflePartitions: '3',
    });
    expect(readOut(join(work, 'share-c.json'))).toMatchObject({
      ...common,
      runId: 'r1',
      reused: true,
      shufflePartitions: '2',
    });
    expect(readOut(join(work, 'share-d.json'))).toMatchObject({ ...common, runId: 'r2', reused: false });
    expect(readOut(join(work, 'share-e.json'))).toMatchObject({ ...common, runId: 'r1', reused: false });

    // Each job's log holds its own lines.
    const logB = await a.logs(b.submissionId);
    expect(logB).toContain(`[sparkpilot:${b.submissionId}] events.py use in run r1`);
    expect(logB).toContain('finished events-use: SUCCEEDED');
    expect(logB).not.toContain(`[sparkpilot:${pub.submissionId}]`);
  });

  it('ran every job so far in one driver: one spark-submit', async () => {
    const a = adapter();
    expect(spawns()).toBe(1);
    expect(a.driverStarts).toBe(1);
    expect(a.driver).toMatchObject({ master: 'local[2]', sparkVersion: expect.stringMatching(/^4\./) });
    const sub = await a.submit({
      submissionKey: 'one-more',
      name: 'ok',
      application: { file: okPy },
      args: [],
      properties: {},
    });
    expect(sub.submissionId).toBe(`session:${a.driver!.appId}:${sub.submissionId.split(':').pop()}`);
    expect((await waitFor(a, sub.submissionId)).state).toBe('SUCCEEDED');
    expect(spawns()).toBe(1);
  });

  it('rejects jars and missing files before starting anything', async () => {
    const fresh = sparkSessionAdapter(options);
    const base = { name: 'x', args: [], properties: {} };
    await expect(
      fresh.submit({ ...base, submissionKey: 'jar', application: { className: 'Main', jar: '/x.jar' } }),
    ).rejects.toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED', retryable: false });
    await expect(
      fresh.submit({ ...base, submissionKey: 'missing', application: { file: join(work, 'nope.py') } }),
    ).rejects.toThrow(/nope\.py does not exist/);
    await expect(
      fresh.submit({ ...base, submissionKey: 's3', application: { file: 's3://bucket/job.py' } }),
    ).rejects.toThrow(/not a local file/);
    expect(fresh.driverStarts).toBe(0);
  });
});

describe('spark-session: the job contract outside the session', () => {
  const submitStandalone = (file: string, args: string[], runId: string) =>
    spawnSync(
      join(realHome, 'bin/spark-submit'),
      [
        '--master',
        'local[1]',
        '--conf',
        'spark.ui.enabled=false',
        '--conf',
        `spark.sparkpilot.run.id=${runId}`,
        '--py-files',
        join(sparkpilotPythonDir(), 'sparkpilot_job.py'),
        file,
        ...args,
      ],
      { env: sparkEnv(), cwd: work, encoding: 'utf8', timeout: 120_000 },
    );

  it('runs the same job file with spark-submit: dataset() loads, publish() is a no-op, conf comes from getConf()', () => {
    const dir = counterDir('standalone');
    const out = join(work, 'standalone.json');
    const r = submitStandalone(eventsPy, ['publish', csv, dir, out], 'standalone-1');
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(readOut(out)).toEqual({
      role: 'publish',
      runId: 'standalone-1',
      confRunId: 'standalone-1',
      shared: false,
      reused: false,
      rows: 20,
      sum: 190,
      shufflePartitions: '200',
    });
    // Not persisted standalone: count() and the sum each computed the source.
    expect(computed(dir)).toBe(40);
  });

  it('exits 1 with the traceback on stderr when run(ctx) raises', () => {
    const r = submitStandalone(failsPy, [], 'standalone-2');
    expect(r.status).toBe(1);
    // spark-submit's PythonRunner merges the Python process's stderr into its own stdout.
    const output = r.stdout + r.stderr;
    expect(output).toMatch(/Traceback \(most recent call last\):[\s\S]*ValueError: failing on purpose/);
    expect(output).toContain('sparkpilot_job: run(ctx) raised; exiting with code 1');
  });
});

describe('spark-session: the driver dying', () => {
  it('fails every running submission with the exit code and log tail, and the next submit starts a new driver', async () => {
    const a = adapter();
    const before = a.driver!;
    const subs = await Promise.all(
      ['forever-1', 'forever-2'].map((key) =>
        a.submit({
          submissionKey: key,
          name: key,
          application: { file: foreverPy },
          args: [],
          properties: {},
        }),
      ),
    );
    for (const s of subs) await waitFor(a, s.submissionId, (st) => st.state === 'RUNNING');
    process.kill(before.pythonPid, 'SIGKILL');
    for (const s of subs) {
      const end = await waitFor(a, s.submissionId, undefined, 30_000);
      expect(end.state).toBe('FAILED');
      expect(end.appId).toBe(before.appId);
      expect(typeof end.exitCode).toBe('number');
      expect(end.exitCode).not.toBe(0);
      expect(end.message).toContain(
        `The shared-session driver (application ${before.appId}, spark-submit pid ${before.pid}) exited with code ${end.exitCode}`,
      );
      expect(end.message).toContain('Driver log tail:');
    }
    expect(a.driver).toBeUndefined();

    const next = await a.submit({
      submissionKey: 'after-death',
      name: 'ok',
      application: { file: okPy },
      args: [],
      properties: {},
    });
    expect(next.appId).not.toBe(before.appId);
    expect((await waitFor(a, next.submissionId)).state).toBe('SUCCEEDED');
    expect(spawns()).toBe(2);
    expect(a.driverStarts).toBe(2);
    // The dead driver's submissions stay FAILED in this adapter; another instance never knew them.
    expect((await a.status(subs[0]!.submissionId)).state).toBe('FAILED');
    await expect(sparkSessionAdapter(options).status(subs[0]!.submissionId)).rejects.toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
    });
  });

  it('close() shuts the driver down and ends running jobs KILLED', async () => {
    const a = adapter();
    const sub = await a.submit({
      submissionKey: 'at-close',
      name: 'forever',
      application: { file: foreverPy },
      args: [],
      properties: {},
    });
    await waitFor(a, sub.submissionId, (s) => s.state === 'RUNNING');
    const { pid } = a.driver!;
    await a.close();
    expect(a.driver).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await a.status(sub.submissionId)).state).toBe('KILLED');
    await expect(
      a.submit({
        submissionKey: 'after-close',
        name: 'ok',
        application: { file: okPy },
        args: [],
        properties: {},
      }),
    ).rejects.toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED' });
  });
});

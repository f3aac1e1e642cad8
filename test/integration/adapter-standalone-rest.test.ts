/**
 * The standalone REST adapter against a real standalone master (REST server on) and worker: the conformance
 * suite, then what is particular to this adapter (app ids, refused and unreachable requests, recovery of a
 * create whose answer was lost, JWS authentication).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, SubmissionError, type SubmissionRequest } from '../../src/adapters/adapter.js';
import {
  STANDALONE_REST_SUBMISSION_KEY_PROPERTY,
  type StandaloneRestAdapter,
  standaloneRestAdapter,
} from '../../src/adapters/standalone-rest.js';
import { ConfigError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/testing/index.js';
import {
  freePort,
  type StandaloneCluster,
  sparkEnv,
  sparkHome,
  startStandalone,
  testAppJar,
} from '../helpers/spark.js';

const app = testAppJar();
/** Small drivers and executors: one worker of 2 cores and 2 GiB runs one application at a time. */
const properties = {
  'spark.driver.memory': '512m',
  'spark.executor.memory': '512m',
  'spark.cores.max': '1',
  'spark.ui.enabled': 'false',
};
let cluster: StandaloneCluster;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sparkpilot-standalone-rest-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  // Room for two applications at once, so that a driver left by an earlier test never blocks the next.
  cluster = await startStandalone({ cores: 4, memory: '4g' });
}, 180_000);

/** Kill every driver still active on the master (left by an earlier test), and wait until none is. */
async function killActiveDrivers(): Promise<void> {
  const active = async () =>
    ((await (await fetch(`${cluster.webUrl}/json/`)).json()) as { activedrivers: { id: string }[] })
      .activedrivers;
  for (const d of await active()) {
    await fetch(`${cluster.restUrl}/v1/submissions/kill/${d.id}`, { method: 'POST' });
  }
  const deadline = Date.now() + 30_000;
  while ((await active()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}
afterAll(async () => {
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const full = (extra: { stateDir?: string } = {}) =>
  standaloneRestAdapter({
    url: cluster.restUrl,
    masterWebUrl: cluster.webUrl,
    requestTimeoutMs: 10_000,
    ...extra,
  });

const request = (name: string, over: Partial<SubmissionRequest> = {}): SubmissionRequest => ({
  submissionKey: `standalone-rest-test-${randomUUID()}`,
  name,
  application: app,
  args: [],
  properties,
  ...over,
});

const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

const terminal = (a: StandaloneRestAdapter, id: string) =>
  waitFor(`${id} terminal`, async () => {
    const s = await a.status(id);
    return isTerminal(s.state) ? s : undefined;
  });

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SubmissionError,
  );

describeAdapterConformance('standalone-rest', {
  test: { describe, it, expect },
  create: () => ({ adapter: full({ stateDir: tempDir() }) }),
  // The test app picks its mode from spark.app.name when given no args: "...-fails" exits 3, "...-cancelled"
  // sleeps; the suite's other job names succeed.
  application: app,
  failing: app,
  cancellable: app,
  properties,
  timeoutMs: 90_000,
  pollMs: 500,
});

describe('standalone-rest adapter', () => {
  it('passes args and properties, reports the application id the driver printed, and returns its logs', async () => {
    const a = full();
    // Args win over the name: this "mode=fail" job runs "ok". A spark.master of the request is dropped: the
    // master puts in its own URL.
    const req = request('standalone-rest-args mode=fail', {
      args: ['ok'],
      properties: { ...properties, 'spark.master': 'local[2]' },
    });
    const sub = await a.submit(req);
    expect(sub.submissionId).toMatch(/^driver-\d{14}-\d{4}$/);
    const end = await terminal(a, sub.submissionId);
    expect(end.state).toBe('SUCCEEDED');
    expect(end.exitCode).toBe(0);
    expect(end.appId).toMatch(/^app-\d{14}-\d{4}$/);
    const logs = await a.logs!(sub.submissionId);
    expect(logs).toContain(`sparkpilot-test-app: applicationId=${end.appId}`);
    expect(logs).toContain('sparkpilot-test-app: mode=ok');
    expect(logs).toContain(`"-Dspark.app.name=standalone-rest-args mode=fail"`);
    expect(logs).toContain(`"-D${STANDALONE_REST_SUBMISSION_KEY_PROPERTY}=${req.submissionKey}"`);
    expect(logs).toContain('"-Dspark.submit.deployMode=cluster"');
    expect(logs).toContain(`"-Dspark.master=${cluster.masterUrl}"`);
    expect(logs).toContain(`"-Dspark.jars=${app.jar}"`);
    expect(logs).toMatch(
      new RegExp(`==== ${sub.submissionId} stderr \\(bytes \\d+-\\d+ of \\d+, worker worker-`),
    );
    // The master lists the application under the id the adapter reported.
    const master = (await (await fetch(`${cluster.webUrl}/json/`)).json()) as {
      completedapps: { id: string; name: string }[];
    };
    expect(master.completedapps.find((x) => x.id === end.appId)?.name).toBe('standalone-rest-args mode=fail');
    // Without masterWebUrl there is no app id and no logs.
    const bare = standaloneRestAdapter({ url: `${cluster.restUrl}/` });
    expect(bare.capabilities).toEqual({
      cancel: true,
      logs: false,
      sessions: false,
      findBySubmissionKey: false,
    });
    expect(bare.logs).toBeUndefined();
    expect(await bare.status(sub.submissionId)).toEqual({ state: 'SUCCEEDED', exitCode: 0 });
  });

  it('reports a driver that cannot be launched (missing jar) as FAILED with the cluster’s reason', async () => {
    const a = full();
    const sub = await a.submit(
      request('standalone-rest-missing-jar', { application: { className: 'X', jar: '/no/such.jar' } }),
    );
    const end = await terminal(a, sub.submissionId);
    expect(end.state).toBe('FAILED');
    expect(end.message).toBe('java.nio.file.NoSuchFileException: /no/such.jar');
    expect(end.appId).toBeUndefined();
  });

  it('rejects unknown ids for status, cancel and logs with SPARKPILOT_SUBMIT_UNKNOWN_ID', async () => {
    const a = full();
    const id = 'driver-20000101000000-9999';
    // One call at a time: a rejection must have its handler before the next call starts.
    for (const call of [() => a.status(id), () => a.cancel(id), () => a.logs!(id)]) {
      const err = await errorOf(call());
      expect(err).toBeInstanceOf(SubmissionError);
      expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID', retryable: false, submissionId: id });
      expect(err.message).toContain(`submission "${id}" is unknown to the master at ${cluster.restUrl}`);
    }
  });

  it('validates its options once, at the edge', () => {
    expect(() => standaloneRestAdapter({ url: 'spark://master:7077' })).toThrow(ConfigError);
    expect(() => standaloneRestAdapter({ url: 'http://m:6066', masterUrl: 'http://m:7077' })).toThrow(
      /masterUrl: expected spark:\/\/host:port/,
    );
    expect(standaloneRestAdapter.factoryName).toBe('standalone-rest');
    const a = standaloneRestAdapter({
      url: 'http://m:6066',
      masterWebUrl: 'http://m:8080',
      stateDir: '/tmp/x',
    });
    expect(a.capabilities).toEqual({ cancel: true, logs: true, sessions: false, findBySubmissionKey: true });
  });

  it('rejects Python and R files, and jars without a main class, before sending anything', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const a = standaloneRestAdapter({ url: closed, stateDir: tempDir() });
    const py = await errorOf(a.submit(request('py', { application: { file: 's3://jobs/etl.py' } })));
    expect(py).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_REJECTED',
      retryable: false,
      adapter: 'standalone-rest',
    });
    expect(py.message).toContain('s3://jobs/etl.py is a Python application');
    expect(py.message).toContain('spark-submit adapter (client mode) or through Livy');
    const r = await errorOf(a.submit(request('r', { application: { file: 'job.R' } })));
    expect(r.message).toContain('job.R is an R application');
    const jar = await errorOf(a.submit(request('jar', { application: { file: 'etl.jar' } })));
    expect(jar).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED' });
    expect(jar.message).toContain('has no main class');
  });

  it('reports a closed port as SPARKPILOT_SUBMIT_UNREACHABLE (retryable) naming the URL, and records nothing', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const a = standaloneRestAdapter({ url: closed, stateDir: tempDir() });
    const req = request('unreachable');
    const err = await errorOf(a.submit(req));
    expect(err).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNREACHABLE',
      retryable: true,
      submissionKey: req.submissionKey,
    });
    expect(err.message).toContain(`POST ${closed}/v1/submissions/create failed (ECONNREFUSED)`);
    // The request never left: nothing to find, and a retry is a fresh submit.
    expect(await a.findBySubmissionKey!(req.submissionKey)).toBeUndefined();
    const st = await errorOf(a.status('driver-1'));
    expect(st).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });
    expect(st.message).toContain(`GET ${closed}/v1/submissions/status/driver-1`);
    // The web UI is not the REST server.
    const wrong = await errorOf(standaloneRestAdapter({ url: cluster.webUrl }).status('driver-1'));
    expect(wrong).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED' });
    expect(wrong.message).toContain('not a Spark REST submission server');
  });

  it('finds a submission whose create answer was lost, and does not submit it twice', async () => {
    await killActiveDrivers();
    // A proxy that passes every request on, but drops the connection instead of returning the create answer:
    // the master accepted the driver, the adapter never learned its id.
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${cluster.restUrl}${req.url}`, {
        method: req.method!,
        headers: { 'Content-Type': 'application/json' },
        ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = await upstream.text();
      if (req.url === '/v1/submissions/create') {
        res.socket?.destroy();
        return;
      }
      res.writeHead(upstream.status, { 'Content-Type': 'application/json' }).end(body);
    });
    const port = await freePort();
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    try {
      const stateDir = tempDir();
      const a = standaloneRestAdapter({
        url: `http://127.0.0.1:${port}`,
        masterWebUrl: cluster.webUrl,
        stateDir,
      });
      const req = request('standalone-rest-lost-answer-cancelled');
      const lost = await errorOf(a.submit(req));
      expect(lost).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });

      // Without the master's web UI the adapter cannot tell, and says so (not retryable: a person must look).
      const blind = standaloneRestAdapter({ url: cluster.restUrl, stateDir });
      const unsure = await errorOf(blind.findBySubmissionKey!(req.submissionKey));
      expect(unsure).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: false });
      expect(unsure.message).toContain('masterWebUrl is not set');

      // A restarted orchestrator (a fresh adapter on the same stateDir) finds the driver by the key in its
      // launch command, once the worker has launched it.
      const b = full({ stateDir });
      let lastLookupError = '';
      const found = await waitFor('the lost driver', async () => {
        try {
          return await b.findBySubmissionKey!(req.submissionKey);
        } catch (e) {
          if ((e as SubmissionError).retryable) {
            lastLookupError = (e as Error).message;
            return undefined;
          }
          throw e;
        }
      }).catch((e: Error) => {
        throw new Error(`${e.message}; the last lookup said: ${lastLookupError}`);
      });
      expect(found.submissionId).toMatch(/^driver-/);
      expect(found.submissionKey).toBe(req.submissionKey);
      expect((await b.status(found.submissionId)).state).toBe('RUNNING');
      // Submitting the key again returns that driver; the master runs one driver.
      expect((await b.submit(req)).submissionId).toBe(found.submissionId);
      const master = (await (await fetch(`${cluster.webUrl}/json/`)).json()) as {
        activedrivers: { id: string }[];
      };
      expect(master.activedrivers.map((d) => d.id)).toEqual([found.submissionId]);
      await b.cancel(found.submissionId);
      expect((await terminal(b, found.submissionId)).state).toBe('KILLED');
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('standalone-rest adapter with JWS authentication (spark.master.rest.filters)', () => {
  const secret = randomBytes(32);
  let master: ChildProcess | undefined;
  let restUrl = '';

  /** An HS256 JWS, as JWSFilter verifies with its secretKey. */
  const token = (key: Buffer) => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'sparkpilot' })}`;
    return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
  };

  beforeAll(async () => {
    const [port, restPort, webPort] = [await freePort(), await freePort(), await freePort()];
    restUrl = `http://127.0.0.1:${restPort}`;
    const log = openSync(join(tempDir(), 'master.log'), 'a');
    master = spawn(
      join(sparkHome(), 'bin/spark-class'),
      [
        'org.apache.spark.deploy.master.Master',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--webui-port',
        String(webPort),
      ],
      {
        env: {
          ...sparkEnv(),
          SPARK_MASTER_OPTS: [
            '-Dspark.master.rest.enabled=true',
            `-Dspark.master.rest.port=${restPort}`,
            '-Dspark.master.rest.host=127.0.0.1',
            '-Dspark.master.rest.filters=org.apache.spark.ui.JWSFilter',
            `-Dspark.org.apache.spark.ui.JWSFilter.param.secretKey=${secret.toString('base64url')}`,
          ].join(' '),
        },
        stdio: ['ignore', log, log],
        detached: true,
      },
    );
    await waitFor('the authenticating master', async () => {
      try {
        return (await fetch(`${restUrl}/v1/submissions/status/x`)).status === 403 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  }, 120_000);
  afterAll(async () => {
    if (master?.pid !== undefined && master.exitCode === null) {
      const exited = new Promise((r) => master!.once('exit', r));
      process.kill(-master.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
  });

  it('sends authToken as a Bearer token; a missing or wrong one is REJECTED with the server’s reason', async () => {
    const none = await errorOf(standaloneRestAdapter({ url: restUrl }).status('driver-x'));
    expect(none).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED', retryable: false });
    expect(none.message).toContain('was refused with HTTP 403 (Authorization header is missing.)');
    expect(none.message).toContain('authToken');
    const wrong = await errorOf(
      standaloneRestAdapter({ url: restUrl, authToken: token(randomBytes(32)) }).status('driver-x'),
    );
    expect(wrong.message).toContain('HTTP 403 (JWT Validate Fail)');
    const ok = await errorOf(
      standaloneRestAdapter({ url: restUrl, authToken: token(secret) }).status('driver-x'),
    );
    expect(ok).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID', submissionId: 'driver-x' });
  });
});

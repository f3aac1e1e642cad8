/**
 * The `livy` adapter against a local stand-in that follows Livy's documented REST API
 * (test/helpers/livy-server.ts): no real Livy server runs here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  isTerminal,
  SubmissionError,
  type SubmissionRequest,
  type SubmissionStatus,
} from '../../src/adapters/adapter.js';
import { type LivyAdapter, type LivyAdapterOptions, livyAdapter } from '../../src/adapters/livy.js';
import { ConfigError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/testing/index.js';
import { type LivyServerOptions, type LivyStandIn, startLivyServer } from '../helpers/livy-server.js';

const OK = { file: 'local:///jobs/ok.py' };
const FAILS = { file: 'local:///jobs/fail.py' };
const SLEEPS = { file: 'local:///jobs/sleep.py' };

for (const mode of ['batch', 'session'] as const) {
  describeAdapterConformance(`livy (${mode} mode, against the local stand-in)`, {
    test: { describe, it, expect },
    create: async () => {
      const server = await startLivyServer();
      const adapter = livyAdapter({ url: server.url, mode, pollMs: 10 });
      return {
        adapter,
        dispose: async () => {
          await adapter.close();
          await server.close();
        },
      };
    },
    application: OK,
    failing: FAILS,
    cancellable: SLEEPS,
    timeoutMs: 5_000,
    pollMs: 10,
  });
}

// --- helpers -----------------------------------------------------------------------------------------------

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(
  adapterOptions: Partial<LivyAdapterOptions> = {},
  serverOptions: LivyServerOptions = {},
): Promise<{ server: LivyStandIn; adapter: LivyAdapter }> {
  const server = await startLivyServer(serverOptions);
  const adapter = livyAdapter({ url: server.url, pollMs: 5, ...adapterOptions });
  open.push(server, adapter);
  return { server, adapter };
}

let seq = 0;
const request = (overrides: Partial<SubmissionRequest> = {}): SubmissionRequest => ({
  submissionKey: `key-${++seq}`,
  name: 'nightly-etl',
  application: OK,
  args: [],
  properties: {},
  ...overrides,
});

async function until(adapter: LivyAdapter, id: string, done: (s: SubmissionStatus) => boolean) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const s = await adapter.status(id);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`${id} still ${s.state}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const terminal = (adapter: LivyAdapter, id: string) => until(adapter, id, (s) => isTerminal(s.state));

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SubmissionError,
  );

// --- tests -------------------------------------------------------------------------------------------------

describe('livy adapter: options', () => {
  it('validates its options at the edge and declares its capabilities per mode', () => {
    expect(livyAdapter.factoryName).toBe('livy');
    expect(() => livyAdapter({ url: 'livy:8998' } as LivyAdapterOptions)).toThrow(ConfigError);
    expect(() => livyAdapter({ url: 'http://livy:8998', mode: 'cluster' } as never)).toThrow(/mode/);
    expect(() =>
      livyAdapter({ url: 'http://livy:8998', sessionProperties: { executorMemroy: '4g' } as never }),
    ).toThrow(/executorMemroy/);
    const batch = livyAdapter({ url: 'http://livy:8998' });
    expect([batch.name, batch.mode, batch.sessionId]).toEqual(['livy', 'batch', undefined]);
    expect(batch.capabilities).toEqual({
      cancel: true,
      logs: true,
      sessions: false,
      findBySubmissionKey: false,
    });
    const session = livyAdapter({ url: 'http://livy:8998/', mode: 'session' });
    expect(session.capabilities).toEqual({
      cancel: true,
      logs: true,
      sessions: true,
      findBySubmissionKey: false,
    });
    expect('findBySubmissionKey' in session).toBe(false);
  });
});

describe('livy adapter: batch mode', () => {
  it('sends X-Requested-By: sparkpilot (and the configured headers) on every request', async () => {
    const { server, adapter } = await setup({ headers: { Authorization: 'Basic c3A6c3A=' } });
    const sub = await adapter.submit(request());
    await terminal(adapter, sub.submissionId);
    await adapter.logs(sub.submissionId);
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    for (const r of server.requests) {
      expect(r.headers['x-requested-by']).toBe('sparkpilot');
      expect(r.headers.authorization).toBe('Basic c3A6c3A=');
      expect(r.status).toBeLessThan(400);
    }
    expect(server.requests.find((r) => r.method === 'POST')?.headers['content-type']).toBe(
      'application/json',
    );
    // The stand-in, like Livy's CsrfFilter, refuses a POST without it.
    const raw = await fetch(`${server.url}/batches`, { method: 'POST', body: '{"file":"x.py"}' });
    expect(raw.status).toBe(400);
    expect(await raw.text()).toContain('Missing Required Header for CSRF protection.');
    // A header of the caller's own replaces the default one.
    const own = livyAdapter({ url: server.url, headers: { 'x-requested-by': 'etl-team' } });
    await own.submit(request());
    expect(server.requests.at(-1)?.headers['x-requested-by']).toBe('etl-team');
  });

  it('builds the batch body: file, className, args, conf, proxyUser, and the fields Livy takes for spark.* properties', async () => {
    const { server, adapter } = await setup({ proxyUser: 'etl' });
    const sub = await adapter.submit(
      request({
        name: 'nightly-etl',
        application: { className: 'com.example.Etl', jar: 'hdfs:///jars/etl.jar' },
        args: ['--date', '2024-06-01'],
        properties: {
          'spark.executor.memory': '4g',
          'spark.executor.cores': '2',
          'spark.executor.instances': ' 3 ',
          'spark.driver.memory': '1g',
          'spark.driver.cores': 'two',
          'spark.yarn.queue': 'etl',
          'spark.sql.shuffle.partitions': '64',
          'spark.sparkpilot.run.id': 'run-7',
        },
      }),
    );
    expect(sub.submissionId).toBe('batch:0');
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/batches', status: 201 });
    expect(server.requests[0]!.body).toEqual({
      file: 'hdfs:///jars/etl.jar',
      className: 'com.example.Etl',
      args: ['--date', '2024-06-01'],
      driverMemory: '1g',
      executorMemory: '4g',
      executorCores: 2,
      numExecutors: 3,
      queue: 'etl',
      proxyUser: 'etl',
      conf: {
        // not an integer: left for Spark to report
        'spark.driver.cores': 'two',
        'spark.sql.shuffle.partitions': '64',
        'spark.sparkpilot.run.id': 'run-7',
        // the job's name is the Spark application name; Livy's `name` stays unset (see appNameVia)
        'spark.app.name': 'nightly-etl',
      },
    });
    // A Python file: no className.
    await adapter.submit(request({ application: { file: 's3a://jobs/etl.py' }, args: ['a b', '"c"'] }));
    expect(server.requests.at(-1)!.body).toEqual({
      file: 's3a://jobs/etl.py',
      args: ['a b', '"c"'],
      proxyUser: 'etl',
      conf: { 'spark.app.name': 'nightly-etl' },
    });
  });

  it("with appNameVia: 'name', sends the job's name as Livy's `name`, which Livy keeps unique while it keeps the batch", async () => {
    const { server, adapter } = await setup({ appNameVia: 'name' });
    const first = await adapter.submit(
      request({ name: 'nightly-etl', properties: { 'spark.app.name': 'ignored' } }),
    );
    expect(server.requests[0]!.body).toEqual({ file: OK.file, args: [], name: 'nightly-etl', conf: {} });
    const listed = (await (await fetch(`${server.url}/batches`)).json()) as {
      from: number;
      total: number;
      sessions: Array<{ id: number; name: string }>;
    };
    expect(listed).toMatchObject({ from: 0, total: 1, sessions: [{ id: 0, name: 'nightly-etl' }] });
    await terminal(adapter, first.submissionId);
    const err = await errorOf(adapter.submit(request({ name: 'nightly-etl' })));
    expect(err).toBeInstanceOf(SubmissionError);
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED', retryable: false });
    expect(err.message).toContain('Duplicate session name: Some(nightly-etl)');
    expect(err.message).toContain("appNameVia: 'conf'");
  });

  it('maps every Livy batch state', async () => {
    const { server, adapter } = await setup({}, { batchStartMs: 60_000 });
    const sub = await adapter.submit(request({ application: SLEEPS }));
    const batch = server.batches.get(0)!;
    expect((await adapter.status(sub.submissionId)).state).toBe('SUBMITTED'); // starting
    const live: Array<[string, string]> = [
      ['not_started', 'SUBMITTED'],
      ['starting', 'SUBMITTED'],
      ['recovering', 'UNKNOWN'],
      ['idle', 'RUNNING'],
      ['running', 'RUNNING'],
      ['busy', 'RUNNING'],
      ['shutting_down', 'RUNNING'],
      ['something_new', 'UNKNOWN'],
    ];
    const seen: Array<[string, string]> = [];
    for (const [livy] of live) {
      batch.state = livy as never;
      seen.push([livy, (await adapter.status(sub.submissionId)).state]);
    }
    expect(seen).toEqual(live);
    batch.state = 'recovering';
    expect((await adapter.status(sub.submissionId)).message).toMatch(/recovering batch 0/);
    const ends: Array<[string, string]> = [
      ['success', 'SUCCEEDED'],
      ['error', 'FAILED'],
      ['dead', 'FAILED'],
      ['killed', 'KILLED'],
    ];
    for (const [livy, expected] of ends) {
      const s = await adapter.submit(request({ application: SLEEPS }));
      const b = server.batches.get(Number(s.submissionId.split(':')[1]))!;
      b.state = livy as never;
      const status = await adapter.status(s.submissionId);
      expect([livy, status.state]).toEqual([livy, expected]);
      // Terminal states are final: the adapter keeps them even when Livy later says otherwise or forgets.
      b.state = 'running';
      server.batches.delete(b.id);
      expect((await adapter.status(s.submissionId)).state).toBe(expected);
    }
  });

  it('runs batches to SUCCEEDED and FAILED with the appId Livy reports and the log tail in the message', async () => {
    const { adapter } = await setup();
    const ok = await adapter.submit(request());
    const fails = await adapter.submit(request({ application: FAILS }));
    const [a, b] = await Promise.all([
      terminal(adapter, ok.submissionId),
      terminal(adapter, fails.submissionId),
    ]);
    expect(a).toEqual({ state: 'SUCCEEDED', appId: 'application_1717200000000_0001' });
    expect(b.state).toBe('FAILED');
    expect(b.appId).toBe('application_1717200000000_0002');
    expect(b.message).toMatch(/^Livy batch 1 ended "dead"\. Its log ends:\n/);
    expect(b.message).toContain('User application exited with status 3');
    const logs = await adapter.logs(fails.submissionId);
    expect(logs.split('\n')[0]).toBe('stdout: ');
    expect(logs).toContain('Submitting application application_1717200000000_0002 to ResourceManager');
    expect(logs).toContain('Application finished with failed status');
  });

  it('leaves appId out where Livy does not know it (masters other than YARN and Kubernetes)', async () => {
    const { adapter } = await setup({}, { batchAppIds: false });
    const sub = await adapter.submit(request());
    expect(await terminal(adapter, sub.submissionId)).toEqual({ state: 'SUCCEEDED' });
  });

  it('cancels with DELETE, remembers the kill after Livy forgets the batch, and keeps its log', async () => {
    const { server, adapter } = await setup();
    const sub = await adapter.submit(request({ application: SLEEPS }));
    await until(adapter, sub.submissionId, (s) => s.state === 'RUNNING');
    await adapter.cancel(sub.submissionId);
    expect(server.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.status])).toEqual([
      ['/batches/0', 200],
    ]);
    expect(server.batches.has(0)).toBe(false); // as Livy: a deleted batch is gone
    expect(await adapter.status(sub.submissionId)).toEqual({
      state: 'KILLED',
      appId: 'application_1717200000000_0001',
      message: 'Livy batch 0 was killed by request (DELETE /batches/0).',
    });
    const logs = await adapter.logs(sub.submissionId);
    expect(logs).toContain('Submitting application application_1717200000000_0001');
    expect(logs).toContain('was killed by request; Livy forgot it');
    // Cancelling a finished batch does nothing.
    const done = await adapter.submit(request());
    await terminal(adapter, done.submissionId);
    const deletes = server.requests.filter((r) => r.method === 'DELETE').length;
    await adapter.cancel(done.submissionId);
    await adapter.cancel(sub.submissionId);
    expect(server.requests.filter((r) => r.method === 'DELETE').length).toBe(deletes);
    expect((await adapter.status(done.submissionId)).state).toBe('SUCCEEDED');
  });

  it('answers an id Livy does not know with SPARKPILOT_SUBMIT_UNKNOWN_ID', async () => {
    const { adapter, server } = await setup({}, { stateRetainMs: 30 });
    const err = await errorOf(adapter.status('batch:999'));
    expect(err).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
      retryable: false,
      submissionId: 'batch:999',
    });
    expect(err.message).toMatch(/^\[sparkpilot\] \[livy\] submission "batch:999" is unknown: Livy at http/);
    expect(err.message).toContain("Session '999' not found.");
    expect(err.message).toContain('state-retain.sec');
    await expect(adapter.logs('batch:999')).rejects.toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID' });
    await expect(adapter.cancel('batch:999')).rejects.toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID' });
    const bad = await errorOf(adapter.status('42'));
    expect(bad).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID', submissionId: '42' });
    expect(bad.message).toContain('batch:<id> or session:<id>:statement:<id>');
    // Livy forgets a finished batch after livy.server.session.state-retain.sec: the adapter that saw it end
    // still knows the end; a new adapter instance does not.
    const sub = await adapter.submit(request());
    const end = await terminal(adapter, sub.submissionId);
    await new Promise((r) => setTimeout(r, 60));
    expect(server.batches.size).toBe(0);
    expect(await adapter.status(sub.submissionId)).toEqual(end);
    const fresh = livyAdapter({ url: server.url });
    await expect(fresh.status(sub.submissionId)).rejects.toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
    });
  });

  it('returns the first submission for a key it already submitted, without a second POST', async () => {
    const { server, adapter } = await setup();
    const req = request();
    const a = await adapter.submit(req);
    const b = await adapter.submit({ ...req });
    expect(b).toEqual(a);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('turns Livy refusals into SPARKPILOT_SUBMIT_REJECTED with Livy’s msg, and 5xx into UNREACHABLE', async () => {
    const { server, adapter } = await setup();
    server.intercept = (r) =>
      r.method === 'POST'
        ? {
            status: 400,
            body: {
              msg: 'Rejected, Reason: requirement failed: Local path /etc/x.py cannot be added to user sessions.',
            },
          }
        : undefined;
    const req = request();
    const rejected = await errorOf(adapter.submit(req));
    expect(rejected).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_REJECTED',
      retryable: false,
      submissionKey: req.submissionKey,
    });
    expect(rejected.message).toContain(
      `submission key "${req.submissionKey}": Livy refused POST ${server.url}/batches (400)`,
    );
    expect(rejected.message).toContain('Local path /etc/x.py cannot be added to user sessions.');
    // Livy's Jackson errors come as a JSON string, not {"msg": ...}.
    server.intercept = (r) =>
      r.method === 'POST'
        ? {
            status: 400,
            body: 'Unrecognized field "tags" (class org.apache.livy.server.batch.CreateBatchRequest)',
          }
        : undefined;
    expect((await errorOf(adapter.submit(request()))).message).toContain('Unrecognized field "tags"');
    // Livy's limit on sessions starting at once: a retry may help.
    server.intercept = () => ({
      status: 400,
      body: { msg: 'Rejected, too many sessions are being created!' },
    });
    const busy = await errorOf(adapter.submit(request()));
    expect(busy).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });
    expect(busy.message).toContain('max-creation');
    server.intercept = () => ({ status: 500, body: 'java.lang.NullPointerException' });
    const down = await errorOf(adapter.status('batch:0'));
    expect(down).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNREACHABLE',
      retryable: true,
      submissionId: 'batch:0',
    });
    expect(down.message).toContain(
      `GET ${server.url}/batches/0 answered 500: java.lang.NullPointerException`,
    );
    server.intercept = undefined;
    // The stand-in really checks bodies as Livy does (no `tags` field, for instance).
    const raw = await fetch(`${server.url}/batches`, {
      method: 'POST',
      headers: { 'X-Requested-By': 'x', 'Content-Type': 'application/json' },
      body: JSON.stringify({ file: 'a.py', tags: ['x'] }),
    });
    expect([raw.status, await raw.json()]).toEqual([
      400,
      expect.stringContaining('Unrecognized field "tags"'),
    ]);
  });
});

describe('livy adapter: unreachable servers and aborts', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('rejects with a retryable SPARKPILOT_SUBMIT_UNREACHABLE naming the URL when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${port}`;
    for (const mode of ['batch', 'session'] as const) {
      const adapter = livyAdapter({ url, mode });
      const req = request();
      const err = await errorOf(adapter.submit(req));
      expect(err).toBeInstanceOf(SubmissionError);
      expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true, adapter: 'livy' });
      expect(err.message).toContain(
        `POST ${url}/${mode === 'batch' ? 'batches' : 'sessions'} failed: connection refused (ECONNREFUSED)`,
      );
      expect(err.message).toContain('a retry may help');
      await expect(adapter.status('batch:1')).rejects.toMatchObject({
        code: 'SPARKPILOT_SUBMIT_UNREACHABLE',
      });
    }
  });

  it('gives up on a request after requestTimeoutMs', async () => {
    const silent = createServer(() => {
      // never answers
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const adapter = livyAdapter({ url, requestTimeoutMs: 100 });
    const started = Date.now();
    const err = await errorOf(adapter.status('batch:3'));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });
    expect(err.message).toContain(`GET ${url}/batches/3 did not answer within 100 ms`);
  });

  it('rejects with the signal’s reason, before and during a request', async () => {
    const silent = createServer(() => {
      // never answers
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const adapter = livyAdapter({ url });
    const reason = new Error('stop');
    const ac = new AbortController();
    const pending = adapter.status('batch:1', { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 30);
    await expect(pending).rejects.toBe(reason);
    await expect(adapter.cancel('batch:1', { signal: ac.signal })).rejects.toBe(reason);
    await expect(adapter.logs('session:1:statement:2', { signal: ac.signal })).rejects.toBe(reason);
    await expect(adapter.close({ signal: ac.signal })).rejects.toBe(reason);
  });

  it('session mode: an abort while the session starts rejects that submit only; the session still starts, close() deletes it', async () => {
    const { server, adapter } = await setup({ mode: 'session' }, { sessionStartMs: 500 });
    const reason = new Error('caller gave up');
    const ac = new AbortController();
    const first = adapter.submit(request(), { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 20);
    await expect(first).rejects.toBe(reason);
    expect(server.sessions.get(0)?.state).toBe('starting');
    const second = await adapter.submit(request());
    expect(second.submissionId).toBe('session:0:statement:0');
    expect(server.requests.filter((r) => r.method === 'POST' && r.path === '/sessions')).toHaveLength(1);
    await adapter.close();
    expect(server.sessions.size).toBe(0);
    expect(adapter.sessionId).toBeUndefined();
  });

  it('session mode: close() while the session starts deletes it and fails the waiting submit (retryable)', async () => {
    const { server, adapter } = await setup({ mode: 'session' }, { sessionStartMs: 5_000 });
    const pending = errorOf(adapter.submit(request()));
    await new Promise((r) => setTimeout(r, 30));
    await adapter.close();
    const err = await pending;
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });
    expect(err.message).toContain('the adapter was closed while its Livy session');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toContain('DELETE /sessions/0');
    expect(server.sessions.size).toBe(0);
  });
});

describe('livy adapter: session mode', () => {
  it('creates one session lazily and runs every job of the adapter as a statement in it', async () => {
    const { server, adapter } = await setup({
      mode: 'session',
      proxyUser: 'etl',
      sessionProperties: {
        executorMemory: '8g',
        numExecutors: 4,
        conf: { 'spark.dynamicAllocation.enabled': 'false' },
      },
    });
    expect(server.requests).toHaveLength(0);
    const [a, b] = await Promise.all([adapter.submit(request()), adapter.submit(request())]);
    const c = await adapter.submit(request({ application: { file: '/jobs/third.py' } }));
    expect([a.submissionId, b.submissionId].sort()).toEqual([
      'session:0:statement:0',
      'session:0:statement:1',
    ]);
    expect(c.submissionId).toBe('session:0:statement:2');
    expect(adapter.sessionId).toBe(0);
    const creates = server.requests.filter((r) => r.method === 'POST' && r.path === '/sessions');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.body).toEqual({
      kind: 'pyspark',
      executorMemory: '8g',
      numExecutors: 4,
      conf: { 'spark.dynamicAllocation.enabled': 'false' },
      proxyUser: 'etl',
    });
    const statements = server.sessions.get(0)!.statements;
    expect(statements.map((s) => s.jobFile)).toEqual([OK.file, OK.file, '/jobs/third.py']);
    expect(statements.map((s) => s.kind)).toEqual([null, null, null]); // the session's kind is pyspark
    const ends = await Promise.all([a, b, c].map((s) => terminal(adapter, s.submissionId)));
    expect(ends).toEqual(Array(3).fill({ state: 'SUCCEEDED', appId: 'application_1717200000000_0001' }));
    // Statements ran one after the other, and every one compiled (the stand-in ran python's ast.parse).
    expect(statements.map((s) => [s.state, s.output?.status])).toEqual(Array(3).fill(['available', 'ok']));
    await adapter.close();
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/sessions/0', status: 200 });
    expect(server.sessions.size).toBe(0);
    expect(adapter.sessionId).toBeUndefined();
    await adapter.close(); // nothing left to close
  });

  it('sends the statement kind when the session is not a pyspark one', async () => {
    const { server, adapter } = await setup({ mode: 'session', sessionKind: 'shared' });
    const sub = await adapter.submit(request());
    await terminal(adapter, sub.submissionId);
    expect(server.requests.find((r) => r.path === '/sessions')!.body).toEqual({ kind: 'shared' });
    expect(server.sessions.get(0)!.statements[0]!.kind).toBe('pyspark');
  });

  it('reports a failed statement with ename, evalue and traceback', async () => {
    const { adapter } = await setup({ mode: 'session' });
    const sub = await adapter.submit(request({ application: FAILS }));
    const end = await terminal(adapter, sub.submissionId);
    expect(end.state).toBe('FAILED');
    expect(end.appId).toBe('application_1717200000000_0001');
    expect(end.message).toBe(
      [
        'RuntimeError: job failed as scripted by the stand-in: local:///jobs/fail.py',
        'Traceback (most recent call last):',
        '  File "local:///jobs/fail.py", line 3, in run',
        'RuntimeError: job failed as scripted by the stand-in: local:///jobs/fail.py',
      ].join('\n'),
    );
    const logs = await adapter.logs(sub.submissionId);
    expect(logs).toContain('[sparkpilot] statement 0 of Livy session 0: available');
    expect(logs).toContain('RuntimeError: job failed as scripted by the stand-in');
    expect(logs).toContain('Livy session 0 log (shared by every job of the session)');
    expect(logs).toContain('Submitted application: application_1717200000000_0001');
  });

  it('takes the application id from the statement’s output where Livy does not know it', async () => {
    const { server, adapter } = await setup({ mode: 'session' }, { sessionAppIds: false });
    const sub = await adapter.submit(request({ application: SLEEPS }));
    expect(await adapter.status(sub.submissionId)).toEqual({ state: 'RUNNING' });
    const st = server.sessions.get(0)!.statements[0]!;
    st.state = 'available';
    st.output = {
      status: 'ok',
      execution_count: 0,
      data: { 'text/plain': 'rows: 42\n[sparkpilot] applicationId=local-1717200000000' },
    };
    expect(await adapter.status(sub.submissionId)).toEqual({
      state: 'SUCCEEDED',
      appId: 'local-1717200000000',
    });
    // Known from then on for the session's other statements (this one waits: the session is still busy).
    const next = await adapter.submit(request({ application: SLEEPS }));
    expect(next.appId).toBe('local-1717200000000');
    expect(await adapter.status(next.submissionId)).toEqual({
      state: 'SUBMITTED',
      appId: 'local-1717200000000',
    });
  });

  it('maps every statement state', async () => {
    const { server, adapter } = await setup({ mode: 'session' });
    const sub = await adapter.submit(request({ application: SLEEPS }));
    const st = server.sessions.get(0)!.statements[0]!;
    const live: Array<[string, string]> = [
      ['waiting', 'SUBMITTED'],
      ['running', 'RUNNING'],
      ['cancelling', 'RUNNING'],
      ['something_new', 'UNKNOWN'],
    ];
    const seen: Array<[string, string]> = [];
    for (const [livy] of live) {
      st.state = livy as never;
      seen.push([livy, (await adapter.status(sub.submissionId)).state]);
    }
    expect(seen).toEqual(live);
    st.state = 'cancelling';
    expect((await adapter.status(sub.submissionId)).message).toBe('Livy is cancelling statement 0.');
    const ends: Array<[string, unknown, string]> = [
      ['available', { status: 'ok', execution_count: 1, data: { 'text/plain': '' } }, 'SUCCEEDED'],
      [
        'available',
        { status: 'error', execution_count: 1, ename: 'ValueError', evalue: 'bad', traceback: [] },
        'FAILED',
      ],
      ['error', null, 'FAILED'],
      ['cancelled', null, 'KILLED'],
    ];
    const got: string[] = [];
    for (const [livy, output, expected] of ends) {
      const s = await adapter.submit(request({ application: SLEEPS }));
      const x = server.sessions.get(0)!.statements.at(-1)!;
      x.state = livy as never;
      x.output = output as never;
      got.push(
        `${livy}/${(output as { status?: string } | null)?.status}: ${(await adapter.status(s.submissionId)).state}`,
      );
      expect(got.at(-1)).toContain(expected);
    }
    expect(got).toEqual([
      'available/ok: SUCCEEDED',
      'available/error: FAILED',
      'error/undefined: FAILED',
      'cancelled/undefined: KILLED',
    ]);
  });

  it('cancels a running statement (cancelling, then KILLED) and leaves a finished one alone', async () => {
    const { server, adapter } = await setup({ mode: 'session' }, { cancelMs: 50 });
    const sub = await adapter.submit(request({ application: SLEEPS }));
    await until(adapter, sub.submissionId, (s) => s.state === 'RUNNING');
    await adapter.cancel(sub.submissionId);
    expect(server.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/sessions/0/statements/0/cancel',
      status: 200,
    });
    expect(await adapter.status(sub.submissionId)).toEqual({
      state: 'RUNNING',
      appId: 'application_1717200000000_0001',
      message: 'Livy is cancelling statement 0.',
    });
    expect((await terminal(adapter, sub.submissionId)).state).toBe('KILLED');
    // The next job runs in the same session once the cancelled one is out of the way.
    const next = await adapter.submit(request());
    expect(next.submissionId).toBe('session:0:statement:1');
    expect((await terminal(adapter, next.submissionId)).state).toBe('SUCCEEDED');
    const posts = server.requests.filter((r) => r.path.endsWith('/cancel')).length;
    await adapter.cancel(next.submissionId);
    await adapter.cancel(sub.submissionId);
    expect(server.requests.filter((r) => r.path.endsWith('/cancel')).length).toBe(posts);
  });

  it('fails clearly, with the session’s log tail, when the session dies while starting; the next submit starts a new one', async () => {
    const { server, adapter } = await setup({ mode: 'session' }, { sessionStartState: 'dead' });
    const req = request();
    const err = await errorOf(adapter.submit(req));
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED', retryable: false });
    expect(err.message).toMatch(
      /^\[sparkpilot\] \[livy\] Livy session 0 at http:\/\/127\.0\.0\.1:\d+ ended "dead" while starting\. Its log ends:\n/,
    );
    expect(err.message).toContain('Required executor memory (99g) is above the max threshold');
    expect(err.message).toContain('Check sessionProperties');
    expect(adapter.sessionId).toBeUndefined();
    await errorOf(adapter.submit(request()));
    expect(server.requests.filter((r) => r.method === 'POST' && r.path === '/sessions')).toHaveLength(2);
  });

  it('deletes a session that does not start within sessionStartTimeoutMs (retryable)', async () => {
    const { server, adapter } = await setup(
      { mode: 'session', sessionStartTimeoutMs: 40 },
      { sessionStartMs: 5_000 },
    );
    const err = await errorOf(adapter.submit(request()));
    expect(err).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNREACHABLE', retryable: true });
    expect(err.message).toContain('was still "starting" after 40 ms, so it was deleted');
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/sessions/0' });
    expect(server.sessions.size).toBe(0);
  });

  it('replaces a session that died between jobs; a statement of the dead session ends FAILED', async () => {
    const { server, adapter } = await setup({ mode: 'session' });
    const first = await adapter.submit(request({ application: SLEEPS }));
    await until(adapter, first.submissionId, (s) => s.state === 'RUNNING');
    server.sessions.get(0)!.state = 'dead';
    server.sessions.get(0)!.log.push('YARN Diagnostics: container killed by the stand-in');
    const end = await adapter.status(first.submissionId);
    expect(end.state).toBe('FAILED');
    expect(end.message).toContain('Livy session 0 ended ("dead") before statement 0 finished');
    expect(end.message).toContain('container killed by the stand-in');
    const second = await adapter.submit(request());
    expect(second.submissionId).toBe('session:1:statement:0');
    expect(adapter.sessionId).toBe(1);
    expect((await terminal(adapter, second.submissionId)).state).toBe('SUCCEEDED');
  });

  it('answers unknown sessions and statements with SPARKPILOT_SUBMIT_UNKNOWN_ID, and refuses JVM jobs', async () => {
    const { adapter } = await setup({ mode: 'session' });
    const noSession = await errorOf(adapter.status('session:7:statement:0'));
    expect(noSession).toMatchObject({
      code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
      submissionId: 'session:7:statement:0',
    });
    expect(noSession.message).toContain("Session '7' not found.");
    await adapter.submit(request());
    const noStatement = await errorOf(adapter.status('session:0:statement:9'));
    expect(noStatement).toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID' });
    expect(noStatement.message).toContain('(404: Statement not found)');
    const jvm = await errorOf(
      adapter.submit(request({ application: { className: 'com.example.Etl', jar: 'etl.jar' } })),
    );
    expect(jvm).toMatchObject({ code: 'SPARKPILOT_SUBMIT_REJECTED' });
    expect(jvm.message).toContain(
      'session mode runs Python job files, not the JVM class com.example.Etl in etl.jar',
    );
  });
});

describe('livy adapter: the Python a statement runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-livy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles whatever the strings hold (the stand-in runs ast.parse on each statement)', async () => {
    const { server, adapter } = await setup({ mode: 'session' });
    const nasty =
      'q"uote \'single\' \\back\\slash """triple""" \n newline \r\n # not a comment ü € 😀 \u2028 \u0000 end';
    const sub = await adapter.submit(
      request({
        submissionKey: `key\n"${nasty}`,
        application: { file: `/jobs/${nasty}.py` },
        args: [nasty, ''],
        properties: { [nasty]: nasty },
      }),
    );
    expect(await terminal(adapter, sub.submissionId)).toMatchObject({ state: 'SUCCEEDED' });
    const st = server.sessions.get(0)!.statements[0]!;
    expect(st.jobFile).toBe(`/jobs/${nasty}.py`);
    expect(st.code).toMatch(/^[\x20-\x7e\n]*$/); // plain ASCII: every other character is escaped
    expect(st.code.split('\n')[0]).toBe(
      `# sparkpilot job: ${JSON.stringify(`/jobs/${nasty}.py`).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`,
    );
  });

  it('runs run(ctx) with args and conf intact, shares published datasets within a run, applies spark.sql.* for the job only', async () => {
    // The statements the adapter posted, executed one after another in one namespace (as Livy's
    // fake_shell.py does) by a real python3, with a stub `spark` standing in for the session's.
    const jobs = join(dir, 'jobs "q" ü');
    mkdirSync(jobs, { recursive: true });
    const out = join(dir, 'out.jsonl');
    writeFileSync(
      join(jobs, 'job.py'),
      `import json
import helper  # a module beside the job file


class DF(object):
    def __init__(self, origin):
        self.origin = origin
        self.persisted = False
        self.unpersisted = False

    def persist(self):
        self.persisted = True
        return self

    def unpersist(self):
        self.unpersisted = True
        return self


def run(ctx):
    loaded = []
    df = ctx.dataset("clean", lambda: loaded.append(1) or DF(ctx.args[-1]))
    published = ctx.publish("clean", df)
    record = {
        "args": ctx.args, "conf": ctx.conf, "shared": ctx.shared, "run_id": ctx.run_id,
        "loaded": bool(loaded), "reused": ctx.reused("clean"), "origin": df.origin, "persisted": published.persisted,
        "partitions": ctx.spark.conf.get("spark.sql.shuffle.partitions"), "helper": helper.VALUE,
    }
    with open(ctx.conf["test.out"], "a") as f:
        f.write(json.dumps(record) + "\\n")
    print("job printed this")


if __name__ == "__main__":
    raise SystemExit("not run under sparkpilot's session")
`,
    );
    writeFileSync(join(jobs, 'helper.py'), 'VALUE = "from helper.py"\n');
    writeFileSync(join(jobs, 'exit0.py'), 'import sys\n\ndef run(ctx):\n    sys.exit(0)\n');
    writeFileSync(join(jobs, 'exit3.py'), 'import sys\n\ndef run(ctx):\n    sys.exit(3)\n');
    writeFileSync(join(jobs, 'norun.py'), 'x = 1\n');

    const { server, adapter } = await setup({ mode: 'session', keepRuns: 2 });
    const nasty = 'a "b" \'c\' \\d\n€ 😀';
    const job = join(jobs, 'job.py');
    const conf = (run: string, extra: Record<string, string> = {}) => ({
      'spark.sparkpilot.run.id': run,
      'test.out': out,
      ...extra,
    });
    const plan: Array<Partial<SubmissionRequest>> = [
      {
        application: { file: job },
        args: [nasty, 'first'],
        properties: conf('r1', {
          'spark.sql.shuffle.partitions': '8',
          'spark.sql.warehouse.dir': '/x',
          'spark.executor.memory': '4g',
        }),
      },
      { application: { file: `local://${job}` }, args: ['second'], properties: conf('r1') },
      { application: { file: pathToFileURL(job).href }, args: ['third'], properties: conf('r2') },
      { application: { file: job }, args: ['fourth'], properties: conf('r3') },
      { application: { file: job }, args: ['fifth'], properties: conf('r1') },
      { application: { file: join(jobs, 'exit0.py') } },
      { application: { file: join(jobs, 'exit3.py') } },
      { application: { file: join(jobs, 'norun.py') } },
    ];
    for (const p of plan) {
      const sub = await adapter.submit(request(p));
      await terminal(adapter, sub.submissionId);
    }
    const codes = server.sessions.get(0)!.statements.map((s) => s.code);
    expect(codes).toHaveLength(plan.length);
    const harness = join(dir, 'harness.py');
    writeFileSync(
      harness,
      `import contextlib, io, json, sys


class Conf(object):
    def __init__(self):
        self.values = {"spark.sql.shuffle.partitions": "200"}
        self.log = []

    def isModifiable(self, key):
        return key.startswith("spark.sql.") and key != "spark.sql.warehouse.dir"

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value):
        self.log.append(["set", key, value])
        self.values[key] = value

    def unset(self, key):
        self.log.append(["unset", key])
        self.values.pop(key, None)


class SparkContext(object):
    applicationId = "local-1717200000000"


class Spark(object):
    def __init__(self):
        self.conf = Conf()
        self.sparkContext = SparkContext()


codes = json.load(open(sys.argv[1]))
namespace = {"spark": Spark()}
results = []
for code in codes:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<stdin>", "exec"), namespace)
        results.append({"ok": True, "stdout": out.getvalue()})
    except BaseException as e:
        results.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
datasets = namespace["_sparkpilot_state"]["datasets"]
print(json.dumps({
    "results": results,
    "conf": namespace["spark"].conf.values,
    "confLog": namespace["spark"].conf.log,
    "runs": namespace["_sparkpilot_state"]["runs"],
    "datasets": sorted([list(k) + [v.origin, v.unpersisted] for k, v in datasets.items()]),
    "globals": sorted(k for k in namespace if k not in ("spark", "__builtins__")),
}))
`,
    );
    const codesFile = join(dir, 'codes.json');
    writeFileSync(codesFile, JSON.stringify(codes));
    const run = spawnSync('python3', [harness, codesFile], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const got = JSON.parse(run.stdout) as {
      results: Array<{ ok: boolean; stdout?: string; error?: string }>;
      conf: Record<string, string>;
      confLog: unknown[];
      runs: string[];
      datasets: unknown[];
      globals: string[];
    };
    const marker = 'job printed this\n[sparkpilot] applicationId=local-1717200000000\n';
    expect(got.results).toEqual([
      { ok: true, stdout: marker },
      { ok: true, stdout: marker },
      { ok: true, stdout: marker },
      { ok: true, stdout: marker },
      { ok: true, stdout: marker },
      { ok: true, stdout: '[sparkpilot] applicationId=local-1717200000000\n' },
      { ok: false, error: `RuntimeError: ${join(jobs, 'exit3.py')} exited with code 3` },
      {
        ok: false,
        error: `TypeError: ${join(jobs, 'norun.py')} does not define run(ctx): a sparkpilot job file defines run(ctx)`,
      },
    ]);
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      records.map((r) => [r.run_id, r.args, r.loaded, r.reused, r.origin, r.persisted, r.partitions]),
    ).toEqual([
      ['r1', [nasty, 'first'], true, false, 'first', true, '8'],
      ['r1', ['second'], false, true, 'first', true, '200'], // reused within run r1
      ['r2', ['third'], true, false, 'third', true, '200'], // another run loads its own
      ['r3', ['fourth'], true, false, 'fourth', true, '200'],
      ['r1', ['fifth'], true, false, 'fifth', true, '200'], // r1's dataset was released: only 2 runs are kept
    ]);
    expect(records[0]).toMatchObject({
      shared: true,
      helper: 'from helper.py',
      conf: {
        'spark.sparkpilot.run.id': 'r1',
        'test.out': out,
        'spark.sql.shuffle.partitions': '8',
        'spark.sql.warehouse.dir': '/x',
        'spark.executor.memory': '4g',
      },
    });
    // spark.sql.shuffle.partitions was set for job 1 only; a static conf was not touched.
    expect(got.confLog).toEqual([
      ['set', 'spark.sql.shuffle.partitions', '8'],
      ['set', 'spark.sql.shuffle.partitions', '200'],
    ]);
    expect(got.conf).toEqual({ 'spark.sql.shuffle.partitions': '200' });
    // Jobs without a run id share the session's own default run; only the last 2 runs keep datasets.
    expect(got.runs).toEqual(['r1', expect.stringMatching(/^session-[0-9a-f]{32}$/)]);
    expect(got.datasets).toEqual([['r1', 'clean', 'fifth', false]]);
    expect(got.globals).toEqual(['_sparkpilot_main', '_sparkpilot_state']);
  });
});

/**
 * The Livy submission adapter: submits jobs to an Apache Livy server over its REST API, either as batches
 * (`POST /batches`, one spark-submit per job) or as statements of one interactive session that every job
 * submitted through the adapter instance shares (`POST /sessions/{id}/statements`), so the jobs of a
 * pipeline run share one SparkContext and can reuse each other's cached DataFrames.
 * @module
 */
import { z } from 'zod';
import { throwIfAborted } from '../errors.js';
import { defineFactory } from '../registry.js';
import {
  type AdapterCallOptions,
  type AdapterCapabilities,
  isTerminal,
  type Submission,
  type SubmissionAdapter,
  SubmissionError,
  type SubmissionRequest,
  type SubmissionState,
  type SubmissionStatus,
} from './adapter.js';

const ADAPTER = 'livy';

/**
 * The shared interactive session's creation fields, as Livy's `POST /sessions` takes them (session mode).
 * Executor resources are fixed for the session's life: the `spark.*` properties of each job cannot change
 * them.
 */
export const livySessionPropertiesSchema = z.strictObject({
  /** The session's name; Livy passes it on as `spark.app.name` and refuses a second live session of the same name. */
  name: z.string().min(1).optional(),
  driverMemory: z.string().min(1).optional(),
  driverCores: z.number().int().positive().optional(),
  executorMemory: z.string().min(1).optional(),
  executorCores: z.number().int().positive().optional(),
  numExecutors: z.number().int().positive().optional(),
  /** The YARN queue. */
  queue: z.string().min(1).optional(),
  jars: z.array(z.string()).optional(),
  pyFiles: z.array(z.string()).optional(),
  files: z.array(z.string()).optional(),
  archives: z.array(z.string()).optional(),
  /** Spark properties of the session (`spark.dynamicAllocation.enabled`, ...). */
  conf: z.record(z.string(), z.string()).optional(),
  /** Livy kills a session it has not heard from in this many seconds (Livy 0.7+). */
  heartbeatTimeoutInSecond: z.number().int().nonnegative().optional(),
});

/** The shared session's creation fields, as passed: see {@link livySessionPropertiesSchema}. */
export type LivySessionProperties = z.input<typeof livySessionPropertiesSchema>;

/** Options of {@link livyAdapter}. */
export const livyAdapterOptionsSchema = z.object({
  /** The Livy server, e.g. `http://livy:8998` (a path prefix, as behind a Knox gateway, is kept). */
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL of the Livy server' }),
  /** `batch` (default): one Livy batch per job. `session`: one statement per job in a shared session. */
  mode: z.enum(['batch', 'session']).default('batch'),
  /**
   * Extra HTTP headers on every request (`Authorization`, ...). `X-Requested-By: sparkpilot`, which Livy
   * requires on POST and DELETE when `livy.server.csrf-protection.enabled` is on, is always sent unless
   * given here.
   */
  headers: z.record(z.string(), z.string()).default({}),
  /** The user Livy impersonates (`proxyUser` of batches and of the session). */
  proxyUser: z.string().min(1).optional(),
  /** How long one HTTP request may take, ms (default 30 000). */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** How often the adapter polls while it waits for the shared session to start, ms (default 1 000). */
  pollMs: z.number().int().positive().default(1_000),
  /**
   * How `request.name` becomes the Spark application name of a batch. `conf` (default): as
   * `conf["spark.app.name"]`, and no Livy `name`. `name`: as the batch's Livy `name`, which Livy lists in
   * `GET /batches` and passes to spark-submit as `--name`; but Livy 0.6+ refuses a batch whose name a batch
   * it still keeps already has (for `livy.server.session.state-retain.sec`, 600 s by default), so a retry of
   * a job soon after its failed attempt is rejected.
   */
  appNameVia: z.enum(['conf', 'name']).default('conf'),
  /** Session mode: the kind of the shared session (default `pyspark`; jobs always run as Python). */
  sessionKind: z.enum(['pyspark', 'spark', 'sparkr', 'sql', 'shared']).default('pyspark'),
  /** Session mode: how the shared session is created. */
  sessionProperties: livySessionPropertiesSchema.default({}),
  /** Session mode: how long the shared session may take to become `idle`, ms (default 300 000). */
  sessionStartTimeoutMs: z.number().int().positive().default(300_000),
  /** Session mode: the datasets of how many pipeline runs the session keeps cached (default 2). */
  keepRuns: z.number().int().positive().default(2),
  /** The most log lines {@link LivyAdapter.logs} returns (the last ones; default 1 000). */
  logLines: z.number().int().positive().default(1_000),
});

/** Options of {@link livyAdapter}, as passed. */
export type LivyAdapterOptions = z.input<typeof livyAdapterOptionsSchema>;

/** The Livy adapter: cancel and logs in both modes, the shared session in session mode. */
export interface LivyAdapter extends SubmissionAdapter {
  readonly name: 'livy';
  /** `batch` or `session`, as configured. */
  readonly mode: 'batch' | 'session';
  cancel(submissionId: string, options?: AdapterCallOptions): Promise<void>;
  logs(submissionId: string, options?: AdapterCallOptions): Promise<string>;
  /** Session mode: the id of the shared Livy session once it is started; `undefined` before and after. */
  readonly sessionId: number | undefined;
  /** Session mode: delete the shared session (a later submit starts a new one). Batch mode: nothing to do. */
  close(options?: AdapterCallOptions): Promise<void>;
}

/** Livy's `appInfo` map. */
interface LivyAppInfo {
  driverLogUrl?: string | null;
  sparkUiUrl?: string | null;
}
/** `BatchSessionView` / `SessionInfo`, the fields this adapter reads. */
interface LivySessionView {
  id: number;
  state: string;
  appId?: string | null;
  appInfo?: LivyAppInfo | null;
  log?: string[];
}
interface LivyStatementView {
  id: number;
  state: string;
  output?: {
    status?: string;
    ename?: string;
    evalue?: string;
    traceback?: string[];
    data?: Record<string, unknown>;
  } | null;
}
interface LivyLog {
  from?: number;
  total?: number;
  log?: string[];
}

type Ref = { kind: 'batch'; batchId: number } | { kind: 'statement'; sessionId: number; statementId: number };

const BATCH_STATES: Record<string, SubmissionState> = {
  not_started: 'SUBMITTED',
  starting: 'SUBMITTED',
  recovering: 'UNKNOWN',
  idle: 'RUNNING',
  running: 'RUNNING',
  busy: 'RUNNING',
  shutting_down: 'RUNNING',
  success: 'SUCCEEDED',
  error: 'FAILED',
  dead: 'FAILED',
  killed: 'KILLED',
};
const SESSION_GONE = new Set(['shutting_down', 'error', 'dead', 'killed', 'success']);
/** `spark.*` properties Livy takes as fields of a batch, with their type. */
const BATCH_FIELDS: ReadonlyArray<[property: string, field: string, int: boolean]> = [
  ['spark.driver.memory', 'driverMemory', false],
  ['spark.driver.cores', 'driverCores', true],
  ['spark.executor.memory', 'executorMemory', false],
  ['spark.executor.cores', 'executorCores', true],
  ['spark.executor.instances', 'numExecutors', true],
  ['spark.yarn.queue', 'queue', false],
];
const TERMINAL_CACHE_LIMIT = 10_000;

const CAPABILITIES_BATCH: AdapterCapabilities = Object.freeze({
  cancel: true,
  logs: true,
  sessions: false,
  findBySubmissionKey: false,
});
const CAPABILITIES_SESSION: AdapterCapabilities = Object.freeze({ ...CAPABILITIES_BATCH, sessions: true });

function parseRef(submissionId: string): Ref | undefined {
  let m = /^batch:(\d+)$/.exec(submissionId);
  if (m) return { kind: 'batch', batchId: Number(m[1]) };
  m = /^session:(\d+):statement:(\d+)$/.exec(submissionId);
  if (m) return { kind: 'statement', sessionId: Number(m[1]), statementId: Number(m[2]) };
  return undefined;
}

/** JSON with every non-ASCII character escaped, so it can sit in Python source (and a comment) as is. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** What the error body of a Livy answer says: `{"msg": ...}`, a JSON string, or (Jetty) an HTML page. */
function livyMessage(text: string): string {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof (v as { msg?: unknown }).msg === 'string') {
      return (v as { msg: string }).msg;
    }
  } catch {
    // not JSON
  }
  const plain = text
    .replace(/<title>[\s\S]*?<\/title>/i, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 300 ? `${plain.slice(0, 300)}...` : plain || '(empty body)';
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ENOTFOUND') return 'host not found (ENOTFOUND)';
  if (code === 'ECONNRESET') return 'connection reset (ECONNRESET)';
  if (code) return `${cause?.message ?? 'network error'} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

const delay = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Waits for `promise`, or rejects with `signal.reason` when the signal aborts first (the promise goes on). */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * The Python a statement runs in the shared session: a small prelude that builds the job's `ctx` and runs the
 * job file's `run(ctx)` (sparkpilot's job contract). Every string from the request is JSON-encoded (ASCII
 * only) and decoded by `json.loads`, so nothing in a path, an argument or a property can break out of it.
 * Names it leaves in the session's global namespace start with `_sparkpilot_`.
 */
function statementCode(
  request: SubmissionRequest & { application: { file: string } },
  keepRuns: number,
): string {
  const payload = {
    file: request.application.file,
    args: request.args,
    conf: request.properties,
    name: request.name,
    submissionKey: request.submissionKey,
    keepRuns,
  };
  return `# sparkpilot job: ${asciiJson(request.application.file)}
# sparkpilot submission key: ${asciiJson(request.submissionKey)}
def _sparkpilot_main(request):
    import os
    import runpy
    import sys
    import uuid
    from urllib.parse import unquote, urlparse

    g = globals()
    state = g.get("_sparkpilot_state")
    if state is None:
        state = {"datasets": {}, "runs": [], "default_run": "session-" + uuid.uuid4().hex}
        g["_sparkpilot_state"] = state
    spark = g.get("spark")
    if spark is None:
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.getOrCreate()
    conf = dict(request["conf"])
    run_id = conf.get("spark.sparkpilot.run.id") or state["default_run"]
    datasets = state["datasets"]
    runs = state["runs"]
    if run_id in runs:
        runs.remove(run_id)
    runs.append(run_id)
    while len(runs) > request["keepRuns"]:
        old = runs.pop(0)
        for key in [k for k in datasets if k[0] == old]:
            try:
                datasets.pop(key).unpersist()
            except Exception:
                pass

    class Context(object):
        """What run(ctx) receives: sparkpilot's job contract, in a shared Livy session."""
        shared = True

        def __init__(self):
            self.spark = spark
            self.args = [str(a) for a in request["args"]]
            self.conf = conf
            self.run_id = run_id
            self._reused = {}

        def dataset(self, name, load):
            df = datasets.get((run_id, name))
            self._reused[name] = df is not None
            return df if df is not None else load()

        def reused(self, name):
            return self._reused.get(name, False)

        def publish(self, name, df):
            previous = datasets.get((run_id, name))
            if previous is not None and previous is not df:
                try:
                    previous.unpersist()
                except Exception:
                    pass
            df = df.persist()
            datasets[(run_id, name)] = df
            return df

    path = request["file"]
    parsed = urlparse(path)
    if parsed.scheme in ("local", "file"):
        path = unquote(parsed.path)
    elif len(parsed.scheme) > 1:
        from pyspark import SparkFiles
        spark.sparkContext.addFile(path)
        path = SparkFiles.get(os.path.basename(parsed.path))
    runtime = spark.conf
    restore = []
    for key, value in conf.items():
        if key.startswith("spark.sql.") and runtime.isModifiable(key):
            restore.append((key, runtime.get(key, None)))
            runtime.set(key, value)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(path, run_name="__sparkpilot__")
        run = namespace.get("run")
        if not callable(run):
            raise TypeError("%s does not define run(ctx): a sparkpilot job file defines run(ctx)" % path)
        try:
            run(Context())
        except SystemExit as e:
            if e.code not in (None, 0):
                raise RuntimeError("%s exited with code %r" % (path, e.code))
        print("[sparkpilot] applicationId=%s" % spark.sparkContext.applicationId)
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
        for key, value in reversed(restore):
            if value is None:
                runtime.unset(key)
            else:
                runtime.set(key, value)


_sparkpilot_main(__import__("json").loads(${JSON.stringify(asciiJson(payload))}))
`;
}

/**
 * Builds a Livy adapter.
 *
 * Batch mode (default): each job is a Livy batch (`POST /batches` with `file`, `className`, `args`, `conf`,
 * `proxyUser`, and `driverMemory`/`driverCores`/`executorMemory`/`executorCores`/`numExecutors`/`queue` from
 * the matching `spark.*` properties). Submission ids are `batch:<id>`; status reads `GET /batches/{id}`;
 * cancel is `DELETE /batches/{id}` (after which Livy forgets the batch; the adapter remembers it was
 * killed); logs page through `GET /batches/{id}/log`.
 *
 * Session mode (`mode: 'session'`): the first submit creates one interactive session (`POST /sessions`,
 * waits until `idle`) that every later job of this adapter instance shares, until {@link LivyAdapter.close}.
 * Each job is a statement that runs the job's Python file by sparkpilot's job contract: the file defines
 * `run(ctx)`, with `ctx.spark`, `ctx.args`, `ctx.conf` (the request's properties), `ctx.dataset(name, load)`
 * (the DataFrame published under `name` earlier in the same pipeline run, keyed by the
 * `spark.sparkpilot.run.id` property, else `load()`), `ctx.publish(name, df)` (persists and keeps it),
 * `ctx.reused(name)` (whether the last `dataset(name, ...)` returned a published frame), `ctx.shared` (`True`) and
 * `ctx.run_id`. Runtime-settable `spark.sql.*` properties apply to that job
 * only; executor resources are the session's. Submission ids are `session:<id>:statement:<id>`.
 *
 * Neither mode can find a submission again after a restart (`findBySubmissionKey: false`): Livy returns
 * no `conf` in its views, and forgets finished batches after `livy.server.session.state-retain.sec`.
 * Within one adapter instance, a second submit with a key already submitted returns the first submission.
 *
 * @example
 * ```ts
 * const livy = livyAdapter({ url: 'http://livy:8998', headers: { Authorization: `Basic ${token}` } });
 * const sub = await livy.submit({
 *   submissionKey: 'nightly-etl/2024-06-01/attempt-1',
 *   name: 'nightly-etl',
 *   application: { file: 's3a://jobs/etl.py' },
 *   args: ['--date', '2024-06-01'],
 *   properties: { 'spark.executor.memory': '8g', 'spark.executor.instances': '10' },
 * });
 * sub.submissionId; // 'batch:42' (POST /batches with executorMemory: '8g', numExecutors: 10)
 *
 * const shared = livyAdapter({ url: 'http://livy:8998', mode: 'session', sessionProperties: { executorMemory: '8g' } });
 * // ... submit the jobs of one pipeline run, with properties['spark.sparkpilot.run.id'] = the run's id ...
 * await shared.close(); // DELETE /sessions/{id}
 * ```
 */
export const livyAdapter = defineFactory('livy', livyAdapterOptionsSchema, (options): LivyAdapter => {
  const base = options.url.replace(/\/+$/, '');
  const baseHeaders: Record<string, string> = {
    Accept: 'application/json',
    ...(Object.keys(options.headers).some((h) => h.toLowerCase() === 'x-requested-by')
      ? {}
      : { 'X-Requested-By': 'sparkpilot' }),
    ...options.headers,
  };
  const byKey = new Map<string, Submission>();
  /** Terminal statuses seen: terminal states are final, even after Livy forgets the batch or session. */
  const terminal = new Map<string, SubmissionStatus>();
  /** Batches this adapter deleted: Livy forgets them at once. Their log as it was just before. */
  const killed = new Map<number, { appId?: string; log: string[] }>();
  const sessionAppIds = new Map<number, string>();

  interface Context {
    submissionId?: string;
    submissionKey?: string;
  }
  const fail = (
    code: 'SPARKPILOT_SUBMIT_REJECTED' | 'SPARKPILOT_SUBMIT_UNREACHABLE' | 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
    message: string,
    ctx: Context,
    cause?: unknown,
  ) =>
    new SubmissionError(code, message, {
      adapter: ADAPTER,
      ...ctx,
      ...(cause !== undefined ? { cause } : {}),
    });
  const about = (ctx: Context) =>
    ctx.submissionId !== undefined
      ? `submission "${ctx.submissionId}": `
      : ctx.submissionKey !== undefined
        ? `submission key "${ctx.submissionKey}": `
        : '';

  /**
   * One HTTP request. Resolves with any status below 500 (the caller decides what a 404 or 400 means);
   * rejects with `SPARKPILOT_SUBMIT_UNREACHABLE` on a network error, a timeout or a 5xx, and with
   * `signal.reason` when the caller's signal aborts.
   */
  const http = async (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    ctx: Context,
    signal: AbortSignal | undefined,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; text: string; url: string }> => {
    throwIfAborted(signal);
    const url = `${base}${path}`;
    const timeout = AbortSignal.timeout(options.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method,
        headers: body === undefined ? baseHeaders : { ...baseHeaders, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `${about(ctx)}${method} ${url} did not answer within ${options.requestTimeoutMs} ms. Check that the Livy server is up and not overloaded (or raise requestTimeoutMs); a retry may help.`,
          ctx,
          err,
        );
      }
      throw fail(
        'SPARKPILOT_SUBMIT_UNREACHABLE',
        `${about(ctx)}${method} ${url} failed: ${networkReason(err)}. Check that the Livy server is up and that url is right; a retry may help.`,
        ctx,
        err,
      );
    }
    if (status >= 500) {
      throw fail(
        'SPARKPILOT_SUBMIT_UNREACHABLE',
        `${about(ctx)}${method} ${url} answered ${status}: ${livyMessage(text)}. The Livy server failed on its side; a retry may help, else check its log.`,
        ctx,
      );
    }
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status, json, text, url };
  };

  const rejected = (
    res: { status: number; text: string; url: string },
    method: string,
    ctx: Context,
    hint: string,
  ) =>
    fail(
      'SPARKPILOT_SUBMIT_REJECTED',
      `${about(ctx)}Livy refused ${method} ${res.url} (${res.status}): ${livyMessage(res.text)}. ${hint}`,
      ctx,
    );

  /** Livy answers 400 "Rejected, too many sessions are being created!" while `livy.server.session.max-creation` are starting. */
  const busy = (res: { status: number; text: string; url: string }, ctx: Context) =>
    fail(
      'SPARKPILOT_SUBMIT_UNREACHABLE',
      `${about(ctx)}Livy turned POST ${res.url} away for now (${res.status}): ${livyMessage(res.text)}. Livy starts at most livy.server.session.max-creation sessions and batches at once; a retry may help.`,
      ctx,
    );

  const remember = (id: string, status: SubmissionStatus) => {
    if (!isTerminal(status.state)) return status;
    if (terminal.size >= TERMINAL_CACHE_LIMIT) terminal.delete(terminal.keys().next().value as string);
    terminal.set(id, status);
    return status;
  };

  const unknownId = (submissionId: string, detail: string) =>
    fail('SPARKPILOT_SUBMIT_UNKNOWN_ID', `submission "${submissionId}" is unknown: ${detail}`, {
      submissionId,
    });

  const refOf = (submissionId: string): Ref => {
    const ref = parseRef(submissionId);
    if (!ref) {
      throw unknownId(
        submissionId,
        'it is not an id the livy adapter hands out (batch:<id> or session:<id>:statement:<id>). Check that the id comes from a livy adapter’s submit().',
      );
    }
    return ref;
  };

  // --- batch mode ------------------------------------------------------------------------------------------

  const batchBody = (request: SubmissionRequest): Record<string, unknown> => {
    const app = request.application;
    const conf: Record<string, string> = { ...request.properties };
    const body: Record<string, unknown> = {
      file: 'jar' in app ? app.jar : app.file,
      ...('className' in app ? { className: app.className } : {}),
      args: [...request.args],
    };
    for (const [property, field, int] of BATCH_FIELDS) {
      const value = conf[property];
      if (value === undefined) continue;
      const trimmed = value.trim();
      if (int && !/^\d+$/.test(trimmed)) continue; // left in conf: Spark reports the bad value
      body[field] = int ? Number(trimmed) : trimmed;
      delete conf[property];
    }
    if (options.appNameVia === 'name') {
      body.name = request.name;
      delete conf['spark.app.name'];
    } else {
      conf['spark.app.name'] = request.name;
    }
    body.conf = conf;
    if (options.proxyUser !== undefined) body.proxyUser = options.proxyUser;
    return body;
  };

  const submitBatch = async (request: SubmissionRequest, signal: AbortSignal | undefined) => {
    const ctx = { submissionKey: request.submissionKey };
    const res = await http('POST', '/batches', ctx, signal, batchBody(request));
    if (res.status !== 201 && res.status !== 200) {
      if (/too many sessions/i.test(res.text)) throw busy(res, ctx);
      const duplicate = /Duplicate session name/i.test(res.text);
      throw rejected(
        res,
        'POST',
        ctx,
        duplicate
          ? `Livy still keeps a batch named "${request.name}" (for livy.server.session.state-retain.sec). Use appNameVia: 'conf' (the default), or wait until Livy forgets the earlier batch.`
          : 'Fix the request (file, properties, proxyUser) or the Livy server’s settings; retrying it unchanged will not help.',
      );
    }
    const view = res.json as LivySessionView | undefined;
    if (!view || typeof view.id !== 'number') {
      throw fail(
        'SPARKPILOT_SUBMIT_UNREACHABLE',
        `${about(ctx)}POST ${res.url} answered ${res.status} without a batch id (${livyMessage(res.text)}). Check that url points at a Livy server.`,
        ctx,
      );
    }
    return {
      submissionId: `batch:${view.id}`,
      submissionKey: request.submissionKey,
      ...(view.appId ? { appId: view.appId } : {}),
    };
  };

  const batchStatus = async (submissionId: string, batchId: number, signal: AbortSignal | undefined) => {
    const ctx = { submissionId };
    const res = await http('GET', `/batches/${batchId}`, ctx, signal);
    if (res.status === 404) {
      const k = killed.get(batchId);
      if (k) {
        return remember(submissionId, {
          state: 'KILLED',
          ...(k.appId ? { appId: k.appId } : {}),
          message: `Livy batch ${batchId} was killed by request (DELETE /batches/${batchId}).`,
        });
      }
      throw unknownId(
        submissionId,
        `Livy at ${base} does not know batch ${batchId} (404: ${livyMessage(res.text)}). Livy forgets a batch when it is deleted, when livy.server.session.state-retain.sec (default 600 s) has passed since it ended, and on a restart without recovery.`,
      );
    }
    if (res.status !== 200)
      throw rejected(res, 'GET', ctx, 'Check the credentials in headers (or proxyUser).');
    const view = res.json as LivySessionView;
    const state = BATCH_STATES[view.state] ?? 'UNKNOWN';
    const status: SubmissionStatus = { state, ...(view.appId ? { appId: view.appId } : {}) };
    const tail = (view.log ?? []).map((l) => l.trimEnd()).filter((l) => l.length > 0);
    if (state === 'FAILED') {
      status.message = `Livy batch ${batchId} ended "${view.state}".${tail.length ? ` Its log ends:\n${tail.join('\n')}` : ''}`;
    } else if (state === 'KILLED') {
      status.message = `Livy batch ${batchId} was killed.`;
    } else if (state === 'UNKNOWN') {
      status.message =
        view.state === 'recovering'
          ? `Livy is recovering batch ${batchId} after a restart; its state is not known yet.`
          : `Livy reported state "${view.state}" for batch ${batchId}, which this adapter does not know.`;
    }
    return remember(submissionId, status);
  };

  /** The last `logLines` lines of a batch's or session's log (Livy answers the tail when `from` is left out). */
  const readLog = async (
    path: string,
    ctx: Context,
    signal: AbortSignal | undefined,
  ): Promise<string[] | undefined> => {
    const res = await http('GET', `${path}?size=${options.logLines}`, ctx, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw rejected(res, 'GET', ctx, 'Check the credentials in headers (or proxyUser).');
    return (res.json as LivyLog).log ?? [];
  };

  // --- session mode ----------------------------------------------------------------------------------------

  let sessionPromise: Promise<number> | undefined;
  let currentSessionId: number | undefined;
  let lifecycle = new AbortController();

  const sessionLogTail = async (id: number, view: LivySessionView | undefined, signal: AbortSignal) => {
    try {
      const res = await http('GET', `/sessions/${id}/log?size=50`, {}, signal);
      if (res.status === 200) return (res.json as LivyLog).log ?? [];
    } catch {
      // fall back to the view's last lines
    }
    return view?.log ?? [];
  };

  const deleteSession = async (id: number) => {
    try {
      await http('DELETE', `/sessions/${id}`, {}, undefined);
    } catch {
      // best effort: the session may be gone already, or Livy down; Livy times idle sessions out
    }
  };

  const startSession = async (signal: AbortSignal): Promise<number> => {
    const ctx = {};
    const body: Record<string, unknown> = { kind: options.sessionKind, ...options.sessionProperties };
    if (options.proxyUser !== undefined) body.proxyUser = options.proxyUser;
    // Not aborted midway: a session Livy created must be known, to be deleted.
    const res = await http('POST', '/sessions', ctx, undefined, body);
    if (res.status !== 201 && res.status !== 200) {
      if (/too many sessions/i.test(res.text)) throw busy(res, ctx);
      throw rejected(
        res,
        'POST',
        ctx,
        'Fix sessionProperties (or the Livy server’s settings); retrying unchanged will not help.',
      );
    }
    const created = res.json as LivySessionView;
    const id = created.id;
    if (signal.aborted) {
      await deleteSession(id);
      throw signal.reason;
    }
    const deadline = Date.now() + options.sessionStartTimeoutMs;
    try {
      let view = created;
      for (;;) {
        if (view.state === 'idle' || view.state === 'busy') {
          if (view.appId) sessionAppIds.set(id, view.appId);
          currentSessionId = id;
          return id;
        }
        if (SESSION_GONE.has(view.state)) {
          const tail = (await sessionLogTail(id, view, signal))
            .map((l) => l.trimEnd())
            .filter((l) => l.length > 0);
          if (view.state === 'error') await deleteSession(id);
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `Livy session ${id} at ${base} ended "${view.state}" while starting.${tail.length ? ` Its log ends:\n${tail.join('\n')}\n` : ' It left no log. '}Check sessionProperties and the cluster (queue, memory limits, Livy's REPL jars).`,
            ctx,
          );
        }
        if (Date.now() > deadline) {
          await deleteSession(id);
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `Livy session ${id} at ${base} was still "${view.state}" after ${options.sessionStartTimeoutMs} ms, so it was deleted. Check that the cluster has room for it (or raise sessionStartTimeoutMs); a retry may help.`,
            ctx,
          );
        }
        await delay(options.pollMs, signal);
        const poll = await http('GET', `/sessions/${id}`, ctx, signal);
        if (poll.status === 404) {
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `Livy session ${id} at ${base} disappeared while starting (404: ${livyMessage(poll.text)}). Someone deleted it, or Livy restarted; a retry starts a new one.`,
            ctx,
          );
        }
        if (poll.status !== 200)
          throw rejected(poll, 'GET', ctx, 'Check the credentials in headers (or proxyUser).');
        view = poll.json as LivySessionView;
      }
    } catch (err) {
      if (signal.aborted) await deleteSession(id);
      throw err;
    }
  };

  /** The shared session, started once; a session found dead is replaced. */
  const ensureSession = async (signal: AbortSignal | undefined): Promise<number> => {
    for (let attempt = 0; ; attempt++) {
      if (!sessionPromise) {
        const started = startSession(lifecycle.signal);
        sessionPromise = started;
        started.catch(() => {
          if (sessionPromise === started) sessionPromise = undefined;
        });
      }
      const promise = sessionPromise;
      const id = await raceSignal(promise, signal);
      const res = await http('GET', `/sessions/${id}/state`, {}, signal);
      const state = res.status === 200 ? (res.json as { state?: string }).state : undefined;
      if (state !== undefined && !SESSION_GONE.has(state)) return id;
      // Gone (deleted, timed out, crashed): start a new one. Its cached datasets are lost; jobs load again.
      if (sessionPromise === promise) {
        sessionPromise = undefined;
        if (currentSessionId === id) currentSessionId = undefined;
        if (state === 'error') void deleteSession(id);
      }
      if (attempt >= 1) {
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `Livy session ${id} at ${base} is ${state ? `"${state}"` : 'gone'} right after it started. Check the Livy server's log; a retry starts a new session.`,
          {},
        );
      }
    }
  };

  const submitStatement = async (request: SubmissionRequest, signal: AbortSignal | undefined) => {
    const ctx = { submissionKey: request.submissionKey };
    const app = request.application;
    if (!('file' in app)) {
      throw fail(
        'SPARKPILOT_SUBMIT_REJECTED',
        `${about(ctx)}session mode runs Python job files, not the JVM class ${app.className} in ${app.jar}. Submit JVM jobs through a livy adapter in batch mode.`,
        ctx,
      );
    }
    const sessionId = await ensureSession(signal);
    const code = statementCode({ ...request, application: app }, options.keepRuns);
    const body: Record<string, unknown> = { code };
    if (options.sessionKind !== 'pyspark') body.kind = 'pyspark';
    const res = await http('POST', `/sessions/${sessionId}/statements`, ctx, signal, body);
    if (res.status === 404) {
      if (sessionPromise && currentSessionId === sessionId) sessionPromise = undefined;
      throw fail(
        'SPARKPILOT_SUBMIT_UNREACHABLE',
        `${about(ctx)}Livy session ${sessionId} at ${base} is gone (404). A retry starts a new session.`,
        ctx,
      );
    }
    if (res.status !== 201 && res.status !== 200) {
      throw rejected(res, 'POST', ctx, 'Retrying the same job unchanged will not help.');
    }
    const statement = res.json as LivyStatementView;
    const appId = sessionAppIds.get(sessionId);
    return {
      submissionId: `session:${sessionId}:statement:${statement.id}`,
      submissionKey: request.submissionKey,
      ...(appId ? { appId } : {}),
    };
  };

  const sessionAppId = async (sessionId: number, ctx: Context, signal: AbortSignal | undefined) => {
    const known = sessionAppIds.get(sessionId);
    if (known) return known;
    const res = await http('GET', `/sessions/${sessionId}`, ctx, signal);
    const appId = res.status === 200 ? (res.json as LivySessionView).appId : undefined;
    if (appId) sessionAppIds.set(sessionId, appId);
    return appId ?? undefined;
  };

  const statementStatus = async (
    submissionId: string,
    sessionId: number,
    statementId: number,
    signal: AbortSignal | undefined,
  ): Promise<SubmissionStatus> => {
    const ctx = { submissionId };
    const res = await http('GET', `/sessions/${sessionId}/statements/${statementId}`, ctx, signal);
    if (res.status === 404) {
      throw unknownId(
        submissionId,
        `Livy at ${base} does not know statement ${statementId} of session ${sessionId} (404: ${livyMessage(res.text)}). The session was deleted (close()) or timed out, or the statement is older than the last livy.rsc.retained-statements (100 by default) Livy keeps.`,
      );
    }
    const appId = await sessionAppId(sessionId, ctx, signal);
    const withApp = (s: SubmissionStatus): SubmissionStatus => (appId ? { ...s, appId } : s);
    if (res.status === 400) {
      // "requirement failed: Session isn't active.": the session ended under the statement.
      const session = await http('GET', `/sessions/${sessionId}`, ctx, signal);
      const view = session.status === 200 ? (session.json as LivySessionView) : undefined;
      if (view && !SESSION_GONE.has(view.state))
        throw rejected(res, 'GET', ctx, 'Check the Livy server’s log.');
      const tail = (view?.log ?? []).map((l) => l.trimEnd()).filter((l) => l.length > 0);
      return remember(
        submissionId,
        withApp({
          state: 'FAILED',
          message: `Livy session ${sessionId} ended ("${view?.state ?? 'gone'}") before statement ${statementId} finished.${tail.length ? ` Its log ends:\n${tail.join('\n')}` : ''}`,
        }),
      );
    }
    if (res.status !== 200)
      throw rejected(res, 'GET', ctx, 'Check the credentials in headers (or proxyUser).');
    const st = res.json as LivyStatementView;
    switch (st.state) {
      case 'waiting':
        return withApp({ state: 'SUBMITTED' });
      case 'running':
        return withApp({ state: 'RUNNING' });
      case 'cancelling':
        return withApp({ state: 'RUNNING', message: `Livy is cancelling statement ${statementId}.` });
      case 'cancelled':
        return remember(
          submissionId,
          withApp({
            state: 'KILLED',
            message: `Statement ${statementId} of Livy session ${sessionId} was cancelled.`,
          }),
        );
      case 'available':
      case 'error': {
        const out = st.output ?? {};
        if (st.state === 'available' && out.status === 'ok') {
          // Livy knows the application id on YARN and Kubernetes only; the prelude prints it on success.
          const text = out.data?.['text/plain'];
          const printed =
            typeof text === 'string' ? /^\[sparkpilot\] applicationId=(\S+)$/m.exec(text)?.[1] : undefined;
          if (!appId && printed) sessionAppIds.set(sessionId, printed);
          return remember(submissionId, {
            state: 'SUCCEEDED',
            ...(appId || printed ? { appId: (appId ?? printed)! } : {}),
          });
        }
        const trace = (out.traceback ?? []).join('').trimEnd();
        return remember(
          submissionId,
          withApp({
            state: 'FAILED',
            message: `${out.ename ?? 'Error'}: ${out.evalue ?? `statement ${statementId} failed`}${trace ? `\n${trace}` : ''}`,
          }),
        );
      }
      default:
        return withApp({
          state: 'UNKNOWN',
          message: `Livy reported state "${st.state}" for statement ${statementId}, which this adapter does not know.`,
        });
    }
  };

  const statusOf = async (
    submissionId: string,
    signal: AbortSignal | undefined,
  ): Promise<SubmissionStatus> => {
    const ref = refOf(submissionId);
    const cached = terminal.get(submissionId);
    if (cached) return { ...cached };
    return ref.kind === 'batch'
      ? batchStatus(submissionId, ref.batchId, signal)
      : statementStatus(submissionId, ref.sessionId, ref.statementId, signal);
  };

  return {
    name: 'livy',
    mode: options.mode,
    capabilities: options.mode === 'session' ? CAPABILITIES_SESSION : CAPABILITIES_BATCH,

    get sessionId() {
      return currentSessionId;
    },

    async submit(request, callOptions = {}) {
      const { signal } = callOptions;
      throwIfAborted(signal);
      const existing = byKey.get(request.submissionKey);
      if (existing) return { ...existing };
      const submission =
        options.mode === 'session'
          ? await submitStatement(request, signal)
          : await submitBatch(request, signal);
      byKey.set(request.submissionKey, submission);
      return { ...submission };
    },

    async status(submissionId, callOptions = {}) {
      throwIfAborted(callOptions.signal);
      return statusOf(submissionId, callOptions.signal);
    },

    async cancel(submissionId, callOptions = {}) {
      const { signal } = callOptions;
      throwIfAborted(signal);
      const ref = refOf(submissionId);
      const current = await statusOf(submissionId, signal);
      if (isTerminal(current.state)) return;
      const ctx = { submissionId };
      if (ref.kind === 'batch') {
        let log: string[] = [];
        try {
          log = (await readLog(`/batches/${ref.batchId}/log`, ctx, signal)) ?? [];
        } catch {
          if (signal?.aborted) throw signal.reason;
          // the log is a courtesy; the kill matters
        }
        killed.set(ref.batchId, { ...(current.appId ? { appId: current.appId } : {}), log });
        const res = await http('DELETE', `/batches/${ref.batchId}`, ctx, signal);
        if (res.status !== 200 && res.status !== 404) {
          killed.delete(ref.batchId);
          throw rejected(
            res,
            'DELETE',
            ctx,
            'Check the credentials in headers (or proxyUser): only the owner may kill a batch.',
          );
        }
        remember(submissionId, {
          state: 'KILLED',
          ...(current.appId ? { appId: current.appId } : {}),
          message: `Livy batch ${ref.batchId} was killed by request (DELETE /batches/${ref.batchId}).`,
        });
        return;
      }
      const res = await http(
        'POST',
        `/sessions/${ref.sessionId}/statements/${ref.statementId}/cancel`,
        ctx,
        signal,
      );
      if (res.status === 404)
        throw unknownId(submissionId, `Livy at ${base} does not know session ${ref.sessionId}.`);
      if (res.status !== 200)
        throw rejected(res, 'POST', ctx, 'Check the credentials in headers (or proxyUser).');
    },

    async logs(submissionId, callOptions = {}) {
      const { signal } = callOptions;
      throwIfAborted(signal);
      const ref = refOf(submissionId);
      const ctx = { submissionId };
      if (ref.kind === 'batch') {
        const lines = await readLog(`/batches/${ref.batchId}/log`, ctx, signal);
        if (lines) return `${lines.join('\n')}\n`;
        const k = killed.get(ref.batchId);
        if (k) {
          return `${[...k.log, `[sparkpilot] Livy batch ${ref.batchId} was killed by request; Livy forgot it, this is its log as it was just before.`].join('\n')}\n`;
        }
        throw unknownId(
          submissionId,
          `Livy at ${base} does not know batch ${ref.batchId}; it keeps no log of a forgotten batch.`,
        );
      }
      const res = await http('GET', `/sessions/${ref.sessionId}/statements/${ref.statementId}`, ctx, signal);
      if (res.status === 404) {
        throw unknownId(
          submissionId,
          `Livy at ${base} does not know statement ${ref.statementId} of session ${ref.sessionId}.`,
        );
      }
      const parts: string[] = [];
      if (res.status === 200) {
        const st = res.json as LivyStatementView;
        const out = st.output;
        parts.push(`[sparkpilot] statement ${ref.statementId} of Livy session ${ref.sessionId}: ${st.state}`);
        if (out?.status === 'ok') {
          const text = out.data?.['text/plain'];
          if (typeof text === 'string' && text.length > 0) parts.push(text);
        } else if (out?.status === 'error') {
          parts.push(
            `${out.ename ?? 'Error'}: ${out.evalue ?? ''}`,
            ...(out.traceback ?? []).map((l) => l.trimEnd()),
          );
        }
      }
      const session = await readLog(`/sessions/${ref.sessionId}/log`, ctx, signal);
      if (session?.length)
        parts.push(
          `[sparkpilot] Livy session ${ref.sessionId} log (shared by every job of the session):`,
          ...session,
        );
      return `${parts.join('\n')}\n`;
    },

    async close(callOptions = {}) {
      throwIfAborted(callOptions.signal);
      const pending = sessionPromise;
      sessionPromise = undefined;
      lifecycle.abort(
        fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `the adapter was closed while its Livy session at ${base} was starting, so the session was deleted. Submit again to start a new one.`,
          {},
        ),
      );
      lifecycle = new AbortController();
      if (!pending) return;
      let id: number;
      try {
        id = await pending;
      } catch {
        return; // it never started (and deleted itself)
      }
      if (currentSessionId === id) currentSessionId = undefined;
      await raceSignal(deleteSession(id), callOptions.signal);
    },
  };
});

/**
 * The `standalone-rest` submission adapter: submits JVM applications to a Spark standalone master through its
 * REST submission server (what `spark-submit --deploy-mode cluster --master spark://host:6066` talks to), so
 * the driver runs on a worker of the cluster. With the master's web UI it also learns the Spark application
 * id and reads the driver's log; with a state directory it finds a submission again by its key after a
 * restart.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

const NAME = 'standalone-rest';

/**
 * The Spark property that carries the submission key to the driver (`--conf spark.sparkpilot.submissionKey=…`).
 * The worker prints it in the driver's launch command, which is how a submission is found again after a
 * crash between the master accepting it and the adapter recording its driver id.
 */
export const STANDALONE_REST_SUBMISSION_KEY_PROPERTY = 'spark.sparkpilot.submissionKey';

const httpUrl = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ''));

/** Options of {@link standaloneRestAdapter}. */
export const standaloneRestAdapterOptionsSchema = z.object({
  /** The master's REST submission server, e.g. `http://master:6066` (`spark.master.rest.port`, default 6066). */
  url: httpUrl,
  /**
   * The `spark://` URL sent as `spark.master`, e.g. `spark://m1:7077,m2:7077` for masters in HA. By default
   * none is sent and the master puts in its own URL (Spark's REST server does that, and rewrites the REST port
   * of a URL that names it to the master's port), so `spark.master` in a request's properties is dropped.
   */
  masterUrl: z
    .string()
    .regex(/^spark:\/\/[^/]+$/, { message: 'expected spark://host:port' })
    .optional(),
  /**
   * The master's web UI, e.g. `http://master:8080`. Its `/json/` lists drivers and the workers they run on;
   * with it the adapter reads the Spark application id and the driver's log from the worker's web UI. Without
   * it `appId` stays undefined, `logs` is not available, and a crashed submit cannot be resolved.
   */
  masterWebUrl: httpUrl.optional(),
  /** Sent as `clientSparkVersion` (default `4.0.0`). */
  sparkVersion: z.string().min(1).default('4.0.0'),
  /** Environment variables of the driver (`environmentVariables` of the request). */
  environmentVariables: z.record(z.string(), z.string()).default({}),
  /** How long one HTTP request may take, ms (default 30 000); a request that takes longer is UNREACHABLE. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /**
   * A JWS token sent as `Authorization: Bearer <token>`, for a master whose REST server runs
   * `spark.master.rest.filters=org.apache.spark.ui.JWSFilter` (Spark 4). Sent to the web UIs too.
   */
  authToken: z.string().min(1).optional(),
  /** Extra HTTP headers sent with every request (to the REST server and the web UIs). */
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * A directory where the adapter records submission key → driver id (one small JSON file per key). Enables
   * `findBySubmissionKey`, and `submit` with a key already submitted returns that submission. Share it only
   * between adapters of one orchestrator; see docs/adapter-standalone-rest.md for the window it leaves.
   */
  stateDir: z.string().min(1).optional(),
  /** How many bytes of each driver log (stdout, stderr) `logs` returns, from the end (default 65 536). */
  logTailBytes: z.number().int().positive().default(65_536),
});

/** Options of {@link standaloneRestAdapter}, as passed. */
export type StandaloneRestAdapterOptions = z.input<typeof standaloneRestAdapterOptionsSchema>;

/**
 * The standalone REST adapter. `cancel` is always there; `logs` only with `masterWebUrl`; `findBySubmissionKey`
 * only with `stateDir`. Check `capabilities`, not the methods.
 */
export interface StandaloneRestAdapter extends SubmissionAdapter {
  readonly name: 'standalone-rest';
  cancel(submissionId: string, options?: AdapterCallOptions): Promise<void>;
}

/** What the REST server answers (`CreateSubmissionResponse`, `SubmissionStatusResponse`, `ErrorResponse`, ...). */
interface RestResponse {
  action?: string;
  success?: boolean;
  message?: string;
  submissionId?: string;
  driverState?: string;
  workerId?: string;
  workerHostPort?: string;
}

/** The parts of the master's `/json/` the adapter reads. */
interface MasterState {
  workers?: { id: string; webuiaddress?: string; state?: string }[];
  activeapps?: { id: string; name?: string }[];
  completedapps?: { id: string; name?: string }[];
  activedrivers?: MasterDriver[];
  completeddrivers?: MasterDriver[];
}

interface MasterDriver {
  id: string;
  starttime?: string | number;
  state?: string;
  worker?: string;
  mainclass?: string;
}

/** One file of `stateDir`. */
interface KeyRecord {
  submissionKey: string;
  url?: string;
  submissionId?: string;
  /** Set while a create request is in flight (or was, when the process died): epoch ms it started. */
  pendingSince?: number;
  mainClass?: string;
}

/** Where a crashed create stands after searching the master's drivers. */
type Resolution = { found: string } | { found: undefined; undecided: string | undefined };

interface ErrorContext {
  submissionKey?: string;
  submissionId?: string;
}

const APP_ID_LINE = /Connected to Spark cluster with app ID (\S+)/;
const LOG_HEADER = /^==== Bytes (\d+)-(\d+) of (\d+) of .* ====\n?/;
/** Drivers started this long before a crashed create's marker are still searched (master/host clock skew). */
const CLOCK_SLACK_MS = 10 * 60_000;
/** Running drivers are looked up on the web UI at most this often while their app id is unknown. */
const APP_ID_RETRY_MS = 1_000;
const MAX_CACHED = 10_000;

const firstLine = (text: string, max = 400): string => {
  const line = (text.split('\n').find((l) => l.trim().length > 0) ?? '').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
};

/** The cluster's detail, without Spark's "Exception from the cluster:" preface and the stack trace. */
const clusterMessage = (message: string | undefined): string | undefined => {
  if (!message) return undefined;
  const line = firstLine(message.replace(/^\s*Exception from the cluster:\s*/i, ''));
  return line.length > 0 ? line : undefined;
};

const mapDriverState = (driverState: string | undefined): SubmissionState => {
  switch (driverState) {
    case 'SUBMITTED':
      return 'SUBMITTED';
    case 'RUNNING':
    case 'RELAUNCHING':
      return 'RUNNING';
    case 'FINISHED':
      return 'SUCCEEDED';
    case 'FAILED':
    case 'ERROR':
      return 'FAILED';
    case 'KILLED':
      return 'KILLED';
    default:
      return 'UNKNOWN';
  }
};

const setBounded = <V>(map: Map<string, V>, key: string, value: V) => {
  if (map.size >= MAX_CACHED) map.delete(map.keys().next().value as string);
  map.set(key, value);
};

/**
 * Builds a standalone REST adapter. Applications are `{ className, jar }`: the jar must be readable by the
 * workers (an `hdfs://`, `s3a://`, `http://` URL, or a `local:` / absolute path present on every worker). The
 * request's `properties` become `sparkProperties`; `name` becomes `spark.app.name`; the adapter adds
 * `spark.submit.deployMode=cluster`, `spark.jars` and {@link STANDALONE_REST_SUBMISSION_KEY_PROPERTY}.
 *
 * Driver states map as: `SUBMITTED` → `SUBMITTED`; `RUNNING`, `RELAUNCHING` → `RUNNING`; `FINISHED` →
 * `SUCCEEDED` (exit code 0); `FAILED` (the driver exited non-zero) and `ERROR` (it could not be launched) →
 * `FAILED`; `KILLED` → `KILLED`; `UNKNOWN` → `UNKNOWN`.
 *
 * @example
 * ```ts
 * const adapter = standaloneRestAdapter({
 *   url: 'http://spark-master:6066',
 *   masterWebUrl: 'http://spark-master:8080',
 *   stateDir: '/var/lib/sparkpilot/standalone-rest',
 * });
 * const sub = await adapter.submit({
 *   submissionKey: 'nightly-etl/2024-06-01/attempt-1',
 *   name: 'nightly-etl',
 *   application: { className: 'com.example.Etl', jar: 'hdfs:///jobs/etl.jar' },
 *   args: ['--date', '2024-06-01'],
 *   properties: { 'spark.executor.memory': '4g', 'spark.cores.max': '8' },
 * });
 * const status = await adapter.status(sub.submissionId); // { state: 'RUNNING', appId: 'app-20240601020000-0042' }
 * ```
 */
export const standaloneRestAdapter = defineFactory(
  NAME,
  standaloneRestAdapterOptionsSchema,
  (options): StandaloneRestAdapter => {
    const masterUrl = options.masterUrl;
    const webUrl = options.masterWebUrl;
    const stateDir = options.stateDir;
    const headers: Record<string, string> = {
      ...options.headers,
      ...(options.authToken !== undefined ? { Authorization: `Bearer ${options.authToken}` } : {}),
    };
    const capabilities: AdapterCapabilities = Object.freeze({
      cancel: true,
      logs: webUrl !== undefined,
      sessions: false,
      findBySubmissionKey: stateDir !== undefined,
    });
    /** Driver id → Spark application id, once found (it never changes). */
    const appIds = new Map<string, string>();
    /** Driver id → when its app id was last looked for in vain, in which state, and whether to stop looking. */
    const misses = new Map<string, { at: number; terminal: boolean; final: boolean }>();
    /** Per-key chain, so that two calls with one key in this process do not race. */
    const keyLocks = new Map<string, Promise<unknown>>();
    /** Errors of requests that never left this host (no connection was made). */
    const unsent = new WeakSet<object>();

    const fail = (
      code: 'SPARKPILOT_SUBMIT_REJECTED' | 'SPARKPILOT_SUBMIT_UNREACHABLE' | 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
      message: string,
      ctx: ErrorContext,
      extra: { cause?: unknown; retryable?: boolean } = {},
    ) => new SubmissionError(code, message, { adapter: NAME, ...ctx, ...extra });

    const about = (ctx: ErrorContext) =>
      ctx.submissionId !== undefined
        ? `submission "${ctx.submissionId}"`
        : ctx.submissionKey !== undefined
          ? `submission key "${ctx.submissionKey}"`
          : 'request';

    /**
     * One HTTP request with the caller's signal and the request timeout. Rejects with `signal.reason` when
     * the caller aborts, and with UNREACHABLE when the server cannot be reached or does not answer in time.
     */
    const request = async (
      method: 'GET' | 'POST',
      url: string,
      ctx: ErrorContext,
      signal: AbortSignal | undefined,
      body?: unknown,
    ): Promise<{ status: number; text: string }> => {
      throwIfAborted(signal);
      const timeout = AbortSignal.timeout(options.requestTimeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        const res = await fetch(url, {
          method,
          headers: {
            ...headers,
            ...(body !== undefined ? { 'Content-Type': 'application/json;charset=utf-8' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: combined,
        });
        return { status: res.status, text: await res.text() };
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted) {
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `${about(ctx)}: ${method} ${url} did not answer within ${options.requestTimeoutMs} ms. Check that the master is up and not overloaded (or raise requestTimeoutMs); a retry may help.`,
            ctx,
            { cause: err },
          );
        }
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (err as Error).message;
        const error = fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `${about(ctx)}: ${method} ${url} failed (${why}). Check that the master runs with spark.master.rest.enabled=true and that the URL points at it (REST port 6066 by default); a retry may help.`,
          ctx,
          { cause: err },
        );
        // No connection was made: the request certainly did not reach the server.
        if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(cause?.code ?? '')) unsent.add(error);
        throw error;
      }
    };

    /** A call to the REST submission server; returns its JSON answer for 200, throws a SubmissionError otherwise. */
    const rest = async (
      method: 'GET' | 'POST',
      path: string,
      ctx: ErrorContext,
      signal: AbortSignal | undefined,
      body?: unknown,
    ): Promise<RestResponse> => {
      const url = `${options.url}/v1/submissions/${path}`;
      const { status, text } = await request(method, url, ctx, signal, body);
      let json: RestResponse | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object') json = parsed as RestResponse;
      } catch {
        json = undefined;
      }
      const detail =
        (json?.message ? firstLine(json.message) : undefined) ??
        (/<title>(?:Error \d+ )?([^<]*)<\/title>/i.exec(text)?.[1]?.trim() || firstLine(text, 200));
      if (status >= 500 || status === 429) {
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `${about(ctx)}: ${method} ${url} answered HTTP ${status}${detail ? ` (${detail})` : ''}. The master had an internal error; a retry may help.`,
          ctx,
        );
      }
      if (status === 401 || status === 403) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `${about(ctx)}: ${method} ${url} was refused with HTTP ${status}${detail ? ` (${detail})` : ''}. The REST server requires authentication (spark.master.rest.filters): pass a valid authToken (a JWS signed with the JWSFilter secretKey) or the headers it expects.`,
          ctx,
        );
      }
      if (status !== 200 || json === undefined) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `${about(ctx)}: ${method} ${url} answered HTTP ${status}${detail ? `: ${detail}` : ''}${json === undefined ? '. This is not a Spark REST submission server: point url at the master’s REST port (6066 by default), not its web UI' : ''}.`,
          ctx,
        );
      }
      return json;
    };

    /** GET a web UI page as text; null when it cannot be read (the caller decides what that means). */
    const web = async (url: string, signal: AbortSignal | undefined): Promise<string | null> => {
      try {
        const { status, text } = await request('GET', url, {}, signal);
        return status === 200 ? text : null;
      } catch {
        if (signal?.aborted) throw signal.reason;
        return null;
      }
    };

    const masterState = async (signal: AbortSignal | undefined): Promise<MasterState | null> => {
      if (webUrl === undefined) return null;
      const text = await web(`${webUrl}/json/`, signal);
      if (text === null) return null;
      try {
        return JSON.parse(text) as MasterState;
      } catch {
        return null;
      }
    };

    const findDriver = (state: MasterState, driverId: string): MasterDriver | undefined =>
      [...(state.activedrivers ?? []), ...(state.completeddrivers ?? [])].find((d) => d.id === driverId);

    /** The text of one driver log (`stdout` / `stderr`) on its worker's web UI, without the page's header. */
    const driverLog = async (
      state: MasterState,
      driver: MasterDriver,
      logType: 'stdout' | 'stderr',
      range: { offset?: number; byteLength: number },
      signal: AbortSignal | undefined,
    ): Promise<{ text: string; header: string } | null> => {
      const worker = state.workers?.find((w) => w.id === driver.worker);
      if (!worker?.webuiaddress) return null;
      const query = new URLSearchParams({
        driverId: driver.id,
        logType,
        byteLength: String(range.byteLength),
      });
      if (range.offset !== undefined) query.set('offset', String(range.offset));
      const page = await web(`${worker.webuiaddress.replace(/\/+$/, '')}/log/?${query}`, signal);
      if (page === null) return null;
      const header = LOG_HEADER.exec(page);
      const text = header ? page.slice(header[0].length) : page;
      if (/^Error: invalid log directory/.test(text)) return null;
      const where = header ? `bytes ${header[1]}-${header[2]} of ${header[3]}, ` : '';
      return { text, header: `==== ${driver.id} ${logType} (${where}worker ${worker.id}) ====` };
    };

    /**
     * The Spark application id a driver started, read from the master's web UI and the driver's log;
     * `readLog` says whether the driver's log was read (so that a miss is an answer, not a failure to look).
     */
    const lookupAppId = async (
      driverId: string,
      signal: AbortSignal | undefined,
    ): Promise<{ appId?: string | undefined; readLog: boolean }> => {
      const state = await masterState(signal);
      if (!state) return { readLog: false };
      // With spark.master.useDriverIdAsAppName.enabled the application is named after its driver.
      const named = [...(state.activeapps ?? []), ...(state.completedapps ?? [])].find(
        (a) => a.name === driverId,
      );
      if (named) return { appId: named.id, readLog: false };
      const driver = findDriver(state, driverId);
      if (!driver) return { readLog: false };
      const log = await driverLog(state, driver, 'stderr', { offset: 0, byteLength: 262_144 }, signal);
      return { appId: log ? APP_ID_LINE.exec(log.text)?.[1] : undefined, readLog: log !== null };
    };

    /** The app id of a driver, when `masterWebUrl` is set and the driver got that far. Never throws but on abort. */
    const appIdOf = async (driverId: string, state: SubmissionState | undefined, signal?: AbortSignal) => {
      const known = appIds.get(driverId);
      if (known !== undefined || webUrl === undefined) return known;
      if (state === 'SUBMITTED' || state === 'UNKNOWN') return undefined;
      const terminal = state !== undefined && isTerminal(state);
      const missed = misses.get(driverId);
      if (missed?.final) return undefined;
      // Look at most once a second, but always once more when the driver has just ended.
      if (missed && Date.now() - missed.at < APP_ID_RETRY_MS && (missed.terminal || !terminal))
        return undefined;
      const { appId, readLog } = await lookupAppId(driverId, signal);
      if (appId !== undefined) {
        setBounded(appIds, driverId, appId);
        misses.delete(driverId);
      } else {
        // A finished driver whose log names no application never started one: stop looking.
        setBounded(misses, driverId, { at: Date.now(), terminal, final: terminal && readLog });
      }
      return appId;
    };

    // ---- stateDir: submission key → driver id ----

    const recordPath = (key: string) =>
      join(stateDir!, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.json`);

    const readRecord = async (key: string): Promise<KeyRecord | undefined> => {
      const path = recordPath(key);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      try {
        const rec = JSON.parse(text) as KeyRecord;
        if (rec.submissionKey === key) return rec;
      } catch {
        // A marker caught mid-write: treat it as a create in flight since the file was made.
      }
      const since = await stat(path).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      );
      return { submissionKey: key, pendingSince: since };
    };

    const writeRecord = async (rec: KeyRecord) => {
      const path = recordPath(rec.submissionKey);
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, `${JSON.stringify(rec)}\n`);
      await rename(tmp, path);
    };

    const withKeyLock = async <T>(key: string, body: () => Promise<T>): Promise<T> => {
      const before = keyLocks.get(key) ?? Promise.resolve();
      const run = before.then(body, body);
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      keyLocks.set(key, tail);
      try {
        return await run;
      } finally {
        if (keyLocks.get(key) === tail) keyLocks.delete(key);
      }
    };

    /**
     * A create that was in flight when the process died (or timed out): search the master's drivers started
     * since then for one whose launch command carries the key.
     */
    const resolvePending = async (rec: KeyRecord, signal: AbortSignal | undefined): Promise<Resolution> => {
      const key = rec.submissionKey;
      const state = await masterState(signal);
      if (!state) {
        return {
          found: undefined,
          undecided:
            webUrl === undefined
              ? 'masterWebUrl is not set, so the master’s drivers cannot be searched'
              : `the master's web UI ${webUrl}/json/ could not be read`,
        };
      }
      const since = (rec.pendingSince ?? 0) - CLOCK_SLACK_MS;
      const needle = `"-D${STANDALONE_REST_SUBMISSION_KEY_PROPERTY}=${key}"`;
      const candidates = [...(state.activedrivers ?? []), ...(state.completeddrivers ?? [])].filter(
        (d) =>
          Number(d.starttime ?? Number.POSITIVE_INFINITY) >= since &&
          (rec.mainClass === undefined || d.mainclass === undefined || d.mainclass === rec.mainClass),
      );
      let undecided: string | undefined;
      for (const driver of candidates) {
        const log = await driverLog(state, driver, 'stderr', { offset: 0, byteLength: 65_536 }, signal);
        if (log?.text.includes(needle)) return { found: driver.id };
        // A driver not launched yet (or whose log cannot be read) may be this one; a finished one that left
        // no log never ran the application, so submitting again cannot run it twice.
        const ended = driver.state !== undefined && isTerminal(mapDriverState(driver.state));
        // The worker writes the launch command at the top of the driver's stderr when it launches it: a log
        // read before that (empty, or still without it) cannot tell either.
        const checked = log?.text.includes('Launch Command') ?? false;
        if (!checked && !ended)
          undecided = `driver ${driver.id} (${driver.state ?? 'state unknown'}) cannot be checked yet`;
      }
      return { found: undefined, undecided };
    };

    /** The submission recorded for a key; resolves a crashed create. Call under the key's lock. */
    const findUnlocked = async (
      key: string,
      signal: AbortSignal | undefined,
    ): Promise<Submission | undefined> => {
      throwIfAborted(signal);
      const rec = await readRecord(key);
      throwIfAborted(signal);
      if (!rec) return undefined;
      let submissionId = rec.submissionId;
      if (submissionId === undefined) {
        const resolution = await resolvePending(rec, signal);
        if (resolution.found !== undefined) {
          submissionId = resolution.found;
          await writeRecord({ submissionKey: key, url: options.url, submissionId });
        } else if (resolution.undecided !== undefined) {
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `submission key "${key}": a create request sent at ${new Date(rec.pendingSince ?? 0).toISOString()} never recorded its driver id, and the adapter cannot tell yet whether the master accepted it: ${resolution.undecided}. Retry later; or check the master for a driver launched with ${STANDALONE_REST_SUBMISSION_KEY_PROPERTY}=${key} and delete ${recordPath(key)} if there is none.`,
            { submissionKey: key },
            { retryable: webUrl !== undefined },
          );
        } else {
          await unlink(recordPath(key)).catch(() => undefined);
          return undefined;
        }
      }
      const appId = await appIdOf(submissionId, undefined, signal);
      return { submissionId, submissionKey: key, ...(appId !== undefined ? { appId } : {}) };
    };

    // ---- the adapter ----

    const applicationOf = (req: SubmissionRequest): { className: string; jar: string } => {
      const app = req.application;
      if ('className' in app) return app;
      const ctx = { submissionKey: req.submissionKey };
      if (/\.py$/i.test(app.file)) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${req.submissionKey}": ${app.file} is a Python application, and a standalone master does not run Python applications in cluster mode (its REST server launches a JVM main class). Submit it with the spark-submit adapter (client mode) or through Livy.`,
          ctx,
        );
      }
      if (/\.r$/i.test(app.file)) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${req.submissionKey}": ${app.file} is an R application, and a standalone master does not run R applications in cluster mode. Submit it with the spark-submit adapter (client mode) or through Livy.`,
          ctx,
        );
      }
      throw fail(
        'SPARKPILOT_SUBMIT_REJECTED',
        `submission key "${req.submissionKey}": application { file: ${JSON.stringify(app.file)} } has no main class, and the standalone REST API requires one (mainClass). Pass { className, jar } instead.`,
        ctx,
      );
    };

    const create = async (req: SubmissionRequest, signal: AbortSignal | undefined): Promise<string> => {
      const { className, jar } = applicationOf(req);
      const { 'spark.master': _ignored, ...withoutMaster } = req.properties;
      const jars = req.properties['spark.jars'];
      const ctx = { submissionKey: req.submissionKey };
      const res = await rest('POST', 'create', ctx, signal, {
        action: 'CreateSubmissionRequest',
        appResource: jar,
        mainClass: className,
        appArgs: req.args,
        clientSparkVersion: options.sparkVersion,
        environmentVariables: options.environmentVariables,
        sparkProperties: {
          ...withoutMaster,
          ...(masterUrl !== undefined ? { 'spark.master': masterUrl } : {}),
          'spark.app.name': req.name,
          'spark.submit.deployMode': 'cluster',
          'spark.jars': jars && !jars.split(',').includes(jar) ? `${jar},${jars}` : jar,
          [STANDALONE_REST_SUBMISSION_KEY_PROPERTY]: req.submissionKey,
        },
      });
      if (res.success !== true || !res.submissionId) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${req.submissionKey}": the master at ${options.url} refused the driver${res.message ? `: ${firstLine(res.message)}` : ''}. Check the jar (${jar}), the main class (${className}) and the properties.`,
          ctx,
        );
      }
      return res.submissionId;
    };

    /** Whether a failed create certainly never reached the master (so its marker can go). */
    const neverSent = (err: unknown) =>
      err instanceof SubmissionError && (err.code === 'SPARKPILOT_SUBMIT_REJECTED' || unsent.has(err));

    const adapter: StandaloneRestAdapter = {
      name: NAME,
      capabilities,

      async submit(req, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        applicationOf(req);
        if (stateDir === undefined) {
          return { submissionId: await create(req, signal), submissionKey: req.submissionKey };
        }
        const key = req.submissionKey;
        return withKeyLock(key, async () => {
          const existing = await findUnlocked(key, signal);
          if (existing) return existing;
          await mkdir(stateDir, { recursive: true });
          const marker: KeyRecord = {
            submissionKey: key,
            url: options.url,
            pendingSince: Date.now(),
            mainClass: applicationOf(req).className,
          };
          try {
            await writeFile(recordPath(key), `${JSON.stringify(marker)}\n`, { flag: 'wx' });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
            throw fail(
              'SPARKPILOT_SUBMIT_UNREACHABLE',
              `submission key "${key}": another process is submitting this key right now (${recordPath(key)} appeared meanwhile). Retry; the retry returns that submission.`,
              { submissionKey: key },
            );
          }
          let submissionId: string;
          try {
            submissionId = await create(req, signal);
          } catch (err) {
            // A refused or never-sent request leaves nothing behind; otherwise the marker stays, and the next
            // submit or findBySubmissionKey resolves it against the master's drivers.
            if (neverSent(err)) await unlink(recordPath(key)).catch(() => undefined);
            throw err;
          }
          await writeRecord({ submissionKey: key, url: options.url, submissionId });
          return { submissionId, submissionKey: key };
        });
      },

      async status(submissionId, callOptions = {}): Promise<SubmissionStatus> {
        const { signal } = callOptions;
        const ctx = { submissionId };
        const res = await rest('GET', `status/${encodeURIComponent(submissionId)}`, ctx, signal);
        if (res.success !== true) {
          if (res.message) {
            // The master answered but could not look (e.g. a standby master): not a verdict on the id.
            throw fail(
              'SPARKPILOT_SUBMIT_UNREACHABLE',
              `${about(ctx)}: the master at ${options.url} could not report its status: ${clusterMessage(res.message)}. A retry may help.`,
              ctx,
            );
          }
          throw fail(
            'SPARKPILOT_SUBMIT_UNKNOWN_ID',
            `${about(ctx)} is unknown to the master at ${options.url}. Check the id; the master forgets finished drivers beyond spark.deploy.retainedDrivers (200) and, without recovery, on restart.`,
            ctx,
          );
        }
        const state = mapDriverState(res.driverState);
        const appId = await appIdOf(submissionId, state, signal);
        let message = clusterMessage(res.message);
        if (state === 'FAILED' && message === undefined) {
          message = `The driver exited with a non-zero code${res.workerHostPort ? ` on worker ${res.workerHostPort}` : ''} (Spark's REST API does not report the code); see its stderr.`;
        } else if (state === 'UNKNOWN' && message === undefined) {
          message = `The master reports driver state ${res.driverState ?? '(none)'}: its worker may be lost.`;
        }
        return {
          state,
          ...(appId !== undefined ? { appId } : {}),
          ...(message !== undefined ? { message } : {}),
          ...(state === 'SUCCEEDED' ? { exitCode: 0 } : {}),
        };
      },

      async cancel(submissionId, callOptions = {}) {
        const { signal } = callOptions;
        const ctx = { submissionId };
        const res = await rest('POST', `kill/${encodeURIComponent(submissionId)}`, ctx, signal);
        if (res.success === true) return;
        // "Driver <id> has already finished or does not exist": tell the two apart.
        const status = await adapter.status(submissionId, callOptions);
        if (isTerminal(status.state)) return;
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `${about(ctx)}: the master at ${options.url} did not kill the driver (${status.state})${res.message ? `: ${firstLine(res.message)}` : ''}. A retry may help.`,
          ctx,
        );
      },
    };

    if (webUrl !== undefined) {
      adapter.logs = async (submissionId, callOptions = {}) => {
        const { signal } = callOptions;
        const ctx = { submissionId };
        const state = await masterState(signal);
        if (!state) {
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `${about(ctx)}: the master's web UI ${webUrl}/json/ could not be read. Check masterWebUrl; a retry may help.`,
            ctx,
          );
        }
        const driver = findDriver(state, submissionId);
        if (!driver) {
          await adapter.status(submissionId, callOptions); // throws UNKNOWN_ID for an unknown id
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `${about(ctx)}: the master's web UI ${webUrl}/json/ does not list the driver yet. Retry shortly.`,
            ctx,
          );
        }
        if (!driver.worker) return '';
        const parts: string[] = [];
        for (const logType of ['stderr', 'stdout'] as const) {
          const log = await driverLog(state, driver, logType, { byteLength: options.logTailBytes }, signal);
          if (log === null) {
            throw fail(
              'SPARKPILOT_SUBMIT_UNREACHABLE',
              `${about(ctx)}: the ${logType} of the driver could not be read from worker ${driver.worker}'s web UI (${state.workers?.find((w) => w.id === driver.worker)?.webuiaddress ?? 'address unknown'}). Check that the worker is up and reachable from here, and that its work directory was not cleaned up.`,
              ctx,
            );
          }
          parts.push(`${log.header}\n${log.text}${log.text.endsWith('\n') || log.text === '' ? '' : '\n'}`);
        }
        return parts.join('');
      };
    }

    if (stateDir !== undefined) {
      adapter.findBySubmissionKey = async (submissionKey, callOptions = {}) => {
        throwIfAborted(callOptions.signal);
        return withKeyLock(submissionKey, () => findUnlocked(submissionKey, callOptions.signal));
      };
    }

    return adapter;
  },
);

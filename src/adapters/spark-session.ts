/**
 * The `spark-session` submission adapter: runs PySpark job files in ONE long-running SparkSession, so that
 * the jobs of a pipeline run can share DataFrames (the upstream job publishes one, its dependents reuse the
 * cached frame instead of reloading it).
 *
 * On the first submit it starts sparkpilot's driver, `python/sparkpilot_session.py`, with one `spark-submit`
 * (client mode, any master), and then hands it each job over a Unix socket. Jobs follow the contract of
 * `python/sparkpilot_job.py` (`run(ctx)` with `ctx.dataset` / `ctx.publish`); see docs/adapter-spark-session.md.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AbortError, throwIfAborted } from '../errors.js';
import { defineFactory } from '../registry.js';
import {
  type AdapterCallOptions,
  type AdapterCapabilities,
  isTerminal,
  type Submission,
  type SubmissionAdapter,
  SubmissionError,
  type SubmissionErrorOptions,
  type SubmissionRequest,
  type SubmissionState,
  type SubmissionStatus,
} from './adapter.js';

const NAME = 'spark-session';

/** Options of {@link sparkSessionAdapter}. */
export const sparkSessionAdapterOptionsSchema = z.object({
  /** Spark's home (its `bin/spark-submit` starts the driver). Default: the `SPARK_HOME` environment variable. */
  sparkHome: z.string().min(1).optional(),
  /** The master the shared session runs on (`local[*]`, `spark://host:7077`, `yarn`, `k8s://...`). */
  master: z.string().min(1).default('local[*]'),
  /**
   * Spark properties of the shared session, passed as `--conf` when the driver starts: executor memory and
   * cores, dynamic allocation, ... They hold for every job; a job's own properties change only its
   * runtime-settable `spark.sql.*` settings. Default added: `spark.scheduler.mode=FAIR` (each job name gets
   * its own pool, so concurrent jobs share the executors), and `spark.app.name=sparkpilot-session`.
   */
  properties: z.record(z.string(), z.string()).default({}),
  /** The Python interpreter of the driver and the executors (`PYSPARK_PYTHON` and `PYSPARK_DRIVER_PYTHON`). */
  python: z.string().min(1).optional(),
  /** Extra environment variables of the `spark-submit` process. */
  env: z.record(z.string(), z.string()).default({}),
  /** Extra `spark-submit` arguments, placed before the driver script (`--jars`, `--packages`, `--py-files`, ...). */
  submitArgs: z.array(z.string()).default([]),
  /** How long the driver may take to start and report its application id, ms. */
  startTimeoutMs: z.number().int().positive().default(120_000),
  /** Pipeline runs whose published DataFrames the driver keeps cached; older runs' are unpersisted. */
  keepRuns: z.number().int().positive().default(2),
  /** How long `close()` waits for the driver to stop by itself before killing it, ms. */
  shutdownGraceMs: z.number().int().nonnegative().default(15_000),
});

/** Options of {@link sparkSessionAdapter}, as passed. */
export type SparkSessionAdapterOptions = z.input<typeof sparkSessionAdapterOptionsSchema>;

/** The shared-session driver an adapter is running. */
export interface SparkSessionDriverInfo {
  /** The Spark application id of the shared session (`local-...`, `app-...`, `application_...`). */
  appId: string;
  /** The process id of `spark-submit` (the driver JVM); it leads its own process group. */
  pid: number;
  /** The process id of the Python driver (`sparkpilot_session.py`). */
  pythonPid: number;
  /** Spark's version, as the session reports it. */
  sparkVersion: string;
  /** The master, as the session reports it. */
  master: string;
  /** When the driver reported ready, ms since the epoch. */
  startedAt: number;
}

/** The `spark-session` adapter: every capability, plus control of its shared-session driver. */
export interface SparkSessionAdapter extends SubmissionAdapter {
  readonly name: 'spark-session';
  cancel(submissionId: string, options?: AdapterCallOptions): Promise<void>;
  logs(submissionId: string, options?: AdapterCallOptions): Promise<string>;
  findBySubmissionKey(submissionKey: string, options?: AdapterCallOptions): Promise<Submission | undefined>;
  /**
   * Unpersist the DataFrames published under a pipeline run id (`spark.sparkpilot.run.id`), before the
   * driver's `keepRuns` limit would. Resolves with their names (empty when there were none, or no driver runs).
   */
  release(runId: string, options?: AdapterCallOptions): Promise<string[]>;
  /** The running driver, or `undefined` before the first submit and after it stopped. */
  readonly driver: SparkSessionDriverInfo | undefined;
  /** How many drivers this adapter has started (one `spark-submit` each). */
  readonly driverStarts: number;
  /**
   * Stop the driver: ask it to shut down (running jobs end `KILLED`), and kill its process group after
   * `shutdownGraceMs`. Later submits are rejected.
   */
  close(): Promise<void>;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  cancel: true,
  logs: true,
  sessions: true,
  findBySubmissionKey: true,
});

/** Lines of driver output kept for death messages and `logs()` of a job without lines of its own. */
const TAIL_LINES = 400;
/** Lines kept per submission. */
const RUN_LOG_LINES = 5_000;
/** Lines of the driver's log quoted in a failure message. */
const MESSAGE_TAIL_LINES = 30;
const TAG = /\[sparkpilot:([^\]\s]+)\]/;

/**
 * The directory of sparkpilot's Python files (`sparkpilot_job.py`, `sparkpilot_session.py`): `python/` at
 * the package root. Ship `sparkpilot_job.py` from it with `--py-files` to run a job file standalone.
 *
 * @example
 * ```ts
 * const pyFiles = join(sparkpilotPythonDir(), 'sparkpilot_job.py');
 * // spark-submit --py-files <pyFiles> etl.py
 * ```
 */
export function sparkpilotPythonDir(): string {
  // From dist/ (the built package) and from src/adapters/ (sources, tests).
  for (const rel of ['../python/', '../../python/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'sparkpilot_session.py')) && existsSync(join(dir, 'sparkpilot_job.py')))
      return dir;
  }
  throw new SubmissionError(
    'SPARKPILOT_SUBMIT_REJECTED',
    `sparkpilot_session.py and sparkpilot_job.py were not found in python/ at the package root (looked next to ${fileURLToPath(import.meta.url)}). Reinstall sparkpilot: its package ships python/.`,
    { adapter: NAME },
  );
}

interface Run {
  submissionId: string;
  submissionKey: string;
  appId: string;
  driver: Driver;
  state: SubmissionState;
  message?: string;
  exitCode?: number;
  log: string[];
}

interface Driver {
  child: ChildProcess;
  pid: number;
  server: Server;
  socket?: Socket;
  dir: string;
  info?: SparkSessionDriverInfo;
  /** Submissions of this driver, by id (for events and log lines). */
  runs: Map<string, Run>;
  tail: string[];
  exited: boolean;
  exitCode?: number;
  exitDescription?: string;
  /** Set by close(): jobs cut short end KILLED, not FAILED. */
  closing: boolean;
  releases: Map<string, Array<(names: string[]) => void>>;
  exitedPromise: Promise<void>;
}

type DriverEvent =
  | { event: 'ready'; appId: string; pid: number; sparkVersion: string; master: string }
  | { event: 'started'; id: string }
  | {
      event: 'finished';
      id: string;
      state: 'SUCCEEDED' | 'FAILED' | 'KILLED';
      message?: string;
      traceback?: string;
      durationMs: number;
    }
  | { event: 'released'; runId: string; names: string[] }
  | { event: 'error'; message: string; id?: string }
  | { event: 'fatal'; message: string; traceback?: string }
  | { event: 'stopped' };

/** Resolves `promise`, or rejects with `signal.reason` when the signal aborts first (removing its listener). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason ?? new AbortError());
  }
  return new Promise<T>((res, rej) => {
    const onAbort = () => rej(signal.reason ?? new AbortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        rej(e);
      },
    );
  });
}

/** Calls `onLine` for each complete line of a stream. */
function eachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
    partial = '';
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** `--py-files` from `submitArgs` merged into one list that also ships sparkpilot_job.py. */
function mergePyFiles(submitArgs: readonly string[], jobPy: string): string[] {
  const rest: string[] = [];
  const pyFiles = [jobPy];
  for (let i = 0; i < submitArgs.length; i++) {
    const a = submitArgs[i]!;
    if (a === '--py-files' && i + 1 < submitArgs.length) pyFiles.push(submitArgs[++i]!);
    else if (a.startsWith('--py-files=')) pyFiles.push(a.slice('--py-files='.length));
    else rest.push(a);
  }
  return ['--py-files', pyFiles.join(','), ...rest];
}

/**
 * Builds a `spark-session` adapter. Nothing starts until the first `submit`, which starts the shared-session
 * driver (one `spark-submit` of `python/sparkpilot_session.py`, client mode) and waits for it to report its
 * application id; later submits reuse it, and run concurrently in it.
 *
 * - A submission's id is `session:<appId>:<n>`; `submit` resolves as soon as the driver has the job.
 * - `status` comes from the driver's events: `SUBMITTED`, `RUNNING`, then `SUCCEEDED`, `FAILED` (the
 *   message names the Python or Java exception) or `KILLED` (after `cancel`: `cancelJobGroup`).
 * - A repeated `submissionKey` returns the earlier submission (`findBySubmissionKey`), within this adapter
 *   instance only: submissions live in the driver and in this object. A driver that dies takes its
 *   submissions with it: they end `FAILED` (the message names the exit code and quotes the log tail), the next
 *   submit starts a new driver, and a new adapter instance (after a host restart) answers their ids with
 *   `SPARKPILOT_SUBMIT_UNKNOWN_ID`.
 * - Only PySpark files run (`{ file: 'job.py' }`: a local path, `file://` or `local://`), on the host that
 *   runs the driver. Executor resources are the session's (`properties`); a job's properties apply only as
 *   far as they are runtime-settable `spark.sql.*` settings, and reach the job in `ctx.conf`.
 *
 * @example
 * ```ts
 * const adapter = sparkSessionAdapter({
 *   master: 'spark://spark-master:7077',
 *   properties: { 'spark.executor.memory': '8g', 'spark.executor.cores': '4' },
 * });
 * const a = await adapter.submit({
 *   submissionKey: 'nightly/2024-06-01/load/1',
 *   name: 'load',
 *   application: { file: '/jobs/load.py' }, // ctx.publish('events', df)
 *   args: ['2024-06-01'],
 *   properties: { 'spark.sparkpilot.run.id': 'nightly/2024-06-01' },
 * });
 * // ... once it SUCCEEDED, jobs of the same run id get the cached frame from ctx.dataset('events', load)
 * await adapter.release('nightly/2024-06-01');
 * await adapter.close();
 * ```
 */
export const sparkSessionAdapter = defineFactory(
  NAME,
  sparkSessionAdapterOptionsSchema,
  (options): SparkSessionAdapter => {
    const runs = new Map<string, Run>();
    const byKey = new Map<string, Run>();
    let current: Driver | undefined;
    let starting: Promise<Driver> | undefined;
    let starts = 0;
    let seq = 0;
    let closed = false;

    const fail = (
      code: 'SPARKPILOT_SUBMIT_REJECTED' | 'SPARKPILOT_SUBMIT_UNREACHABLE',
      message: string,
      extra: Pick<SubmissionErrorOptions, 'submissionKey' | 'cause'> = {},
    ) => new SubmissionError(code, message, { adapter: NAME, ...extra });

    const submissionOf = (run: Run): Submission => ({
      submissionId: run.submissionId,
      submissionKey: run.submissionKey,
      appId: run.appId,
    });

    const find = (submissionId: string): Run => {
      const run = runs.get(submissionId);
      if (!run) {
        throw new SubmissionError(
          'SPARKPILOT_SUBMIT_UNKNOWN_ID',
          `submission "${submissionId}" is unknown: this adapter instance never returned it (submissions live in the shared-session driver and in the adapter that started it, and end with them). Check that the id comes from this adapter's submit(); after a restart, submit the job again.`,
          { adapter: NAME, submissionId },
        );
      }
      return run;
    };

    const push = (lines: string[], line: string, max: number) => {
      lines.push(line);
      if (lines.length > max) lines.splice(0, lines.length - max);
    };

    const tailText = (driver: Driver, n = MESSAGE_TAIL_LINES) => driver.tail.slice(-n).join('\n');

    const finish = (
      run: Run,
      state: 'SUCCEEDED' | 'FAILED' | 'KILLED',
      message?: string,
      exitCode?: number,
    ) => {
      if (isTerminal(run.state)) return;
      run.state = state;
      if (message !== undefined) run.message = message;
      if (exitCode !== undefined) run.exitCode = exitCode;
    };

    const send = (driver: Driver, command: Record<string, unknown>) => {
      if (!driver.socket || driver.socket.destroyed) return false;
      driver.socket.write(`${JSON.stringify(command)}\n`);
      return true;
    };

    const onEvent = (driver: Driver, ev: DriverEvent) => {
      switch (ev.event) {
        case 'started': {
          const run = driver.runs.get(ev.id);
          if (run && run.state === 'SUBMITTED') run.state = 'RUNNING';
          return;
        }
        case 'finished': {
          const run = driver.runs.get(ev.id);
          if (run) finish(run, ev.state, ev.message);
          return;
        }
        case 'released': {
          const waiters = driver.releases.get(ev.runId) ?? [];
          driver.releases.delete(ev.runId);
          for (const w of waiters) w(ev.names);
          return;
        }
        case 'error': {
          const run = ev.id !== undefined ? driver.runs.get(ev.id) : undefined;
          if (run) finish(run, 'FAILED', `The shared-session driver refused the job: ${ev.message}`);
          else push(driver.tail, `sparkpilot: driver error: ${ev.message}`, TAIL_LINES);
          return;
        }
        default:
          return;
      }
    };

    const onExit = (driver: Driver) => {
      for (const run of driver.runs.values()) {
        if (isTerminal(run.state)) continue;
        if (driver.closing) {
          finish(
            run,
            'KILLED',
            'The adapter was closed while the job ran (the shared-session driver stopped).',
          );
        } else {
          finish(
            run,
            'FAILED',
            `The shared-session driver (application ${run.appId}, spark-submit pid ${driver.pid}) ${driver.exitDescription} while this job ran; its jobs and published datasets are lost, and the next submit starts a new driver. Driver log tail:\n${tailText(driver)}`,
            driver.exitCode,
          );
        }
      }
      for (const waiters of driver.releases.values()) for (const w of waiters) w([]);
      driver.releases.clear();
      if (current === driver) current = undefined;
      rmSync(driver.dir, { recursive: true, force: true });
    };

    const startDriver = async (): Promise<Driver> => {
      const home = options.sparkHome ?? process.env.SPARK_HOME;
      if (!home) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          'no Spark home to start the shared-session driver with: pass the sparkHome option or set SPARK_HOME.',
        );
      }
      const submitBin = join(home, 'bin', 'spark-submit');
      if (!existsSync(submitBin)) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `${submitBin} does not exist. Point sparkHome (or SPARK_HOME) at a Spark installation.`,
        );
      }
      const pyDir = sparkpilotPythonDir();
      const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-session-'));
      const socketPath = join(dir, 'control.sock');
      const server = createServer();
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(socketPath, () => {
          server.off('error', rej);
          res();
        });
      });
      server.unref();

      const properties: Record<string, string> = {
        'spark.app.name': 'sparkpilot-session',
        'spark.scheduler.mode': 'FAIR',
        ...options.properties,
      };
      const args = [
        '--master',
        options.master,
        '--deploy-mode',
        'client',
        ...Object.entries(properties).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
        ...mergePyFiles(options.submitArgs, join(pyDir, 'sparkpilot_job.py')),
        join(pyDir, 'sparkpilot_session.py'),
        '--connect',
        socketPath,
        '--keep-runs',
        String(options.keepRuns),
      ];
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...options.env,
        SPARK_HOME: home,
        ...(options.python ? { PYSPARK_PYTHON: options.python, PYSPARK_DRIVER_PYTHON: options.python } : {}),
      };

      starts++;
      const child = spawn(submitBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let markExited!: () => void;
      const driver: Driver = {
        child,
        pid: child.pid ?? -1,
        server,
        dir,
        runs: new Map(),
        tail: [],
        exited: false,
        closing: false,
        releases: new Map(),
        exitedPromise: new Promise<void>((res) => {
          markExited = res;
        }),
      };
      child.unref();
      (child.stdout as unknown as Socket | null)?.unref?.();
      (child.stderr as unknown as Socket | null)?.unref?.();

      const onLine = (line: string) => {
        push(driver.tail, line, TAIL_LINES);
        const m = TAG.exec(line);
        const run = m ? driver.runs.get(m[1]!) : undefined;
        if (run) push(run.log, line, RUN_LOG_LINES);
      };
      eachLine(child.stdout, onLine);
      eachLine(child.stderr, onLine);

      return new Promise<Driver>((res, rej) => {
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          killGroup(driver.pid, 'SIGKILL');
          rej(
            fail(
              'SPARKPILOT_SUBMIT_UNREACHABLE',
              `the shared-session driver (${submitBin} --master ${options.master}, pid ${driver.pid}) did not report ready within ${options.startTimeoutMs} ms, and was killed. Check that the master is reachable and has free cores, or raise startTimeoutMs. Log tail:\n${tailText(driver)}`,
            ),
          );
        }, options.startTimeoutMs);
        timer.unref();

        const failStart = (what: string, cause?: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          rej(
            fail(
              'SPARKPILOT_SUBMIT_UNREACHABLE',
              `the shared-session driver (${submitBin} --master ${options.master}) ${what} before it was ready. Check the master, the properties and sparkHome; the log tail says why:\n${tailText(driver)}`,
              cause !== undefined ? { cause } : {},
            ),
          );
        };

        child.once('error', (err) => {
          failStart(`could not be started (${err.message})`, err);
          server.close();
          rmSync(dir, { recursive: true, force: true });
          markExited();
        });

        server.on('connection', (socket) => {
          if (driver.socket) {
            socket.destroy();
            return;
          }
          driver.socket = socket;
          socket.unref();
          server.close();
          eachLine(socket, (line) => {
            if (!line.trim()) return;
            let ev: DriverEvent;
            try {
              ev = JSON.parse(line) as DriverEvent;
            } catch {
              push(driver.tail, `sparkpilot: unreadable driver event: ${line.slice(0, 200)}`, TAIL_LINES);
              return;
            }
            if (ev.event === 'ready') {
              driver.info = {
                appId: ev.appId,
                pid: driver.pid,
                pythonPid: ev.pid,
                sparkVersion: ev.sparkVersion,
                master: ev.master,
                startedAt: Date.now(),
              };
              if (!settled) {
                settled = true;
                clearTimeout(timer);
                current = driver;
                res(driver);
              }
              return;
            }
            if (ev.event === 'fatal')
              push(driver.tail, `sparkpilot: driver failed: ${ev.message}`, TAIL_LINES);
            onEvent(driver, ev);
          });
          socket.on('error', () => {
            // The exit handler reports what happened to the jobs.
          });
          socket.on('close', () => {
            // The Python driver went away; its JVM follows. Make sure it does.
            if (!driver.exited)
              setTimeout(() => !driver.exited && killGroup(driver.pid, 'SIGKILL'), 10_000).unref();
          });
        });

        child.once('exit', (code, signal) => {
          driver.exited = true;
          driver.exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined);
          driver.exitDescription = code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
          driver.socket?.destroy();
          server.close();
          failStart(driver.exitDescription);
          // Let the last lines of output arrive before quoting them.
          let done = false;
          const finalize = () => {
            if (done) return;
            done = true;
            onExit(driver);
            markExited();
          };
          child.once('close', finalize);
          setTimeout(finalize, 1_000).unref();
        });
      });
    };

    const ensureDriver = (): Promise<Driver> => {
      if (current && !current.exited) return Promise.resolve(current);
      if (!starting) {
        starting = startDriver().finally(() => {
          starting = undefined;
        });
      }
      return starting;
    };

    const jobFile = (request: SubmissionRequest): string => {
      const app = request.application;
      const key = request.submissionKey;
      if (!('file' in app)) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${key}": the spark-session adapter runs PySpark files only, not the JVM class ${app.className} in ${app.jar}. Use the spark-submit adapter for jars.`,
          { submissionKey: key },
        );
      }
      let file = app.file;
      if (file.startsWith('file://')) file = fileURLToPath(file);
      else if (file.startsWith('local://')) file = file.slice('local://'.length);
      else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${key}": ${app.file} is not a local file. The shared-session driver loads job files from its own file system; copy the file there and pass its path.`,
          { submissionKey: key },
        );
      }
      file = resolve(file);
      if (!file.endsWith('.py')) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${key}": ${app.file} is not a Python file (.py). The shared-session driver runs PySpark jobs only.`,
          { submissionKey: key },
        );
      }
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${key}": job file ${file} does not exist. Check the application path.`,
          { submissionKey: key },
        );
      }
      return file;
    };

    return {
      name: NAME,
      capabilities: CAPABILITIES,

      get driver() {
        return current?.info && !current.exited ? { ...current.info } : undefined;
      },

      get driverStarts() {
        return starts;
      },

      async submit(request, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        const existing = byKey.get(request.submissionKey);
        if (existing) return submissionOf(existing);
        if (closed) {
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `submission key "${request.submissionKey}": this adapter was closed. Create a new spark-session adapter.`,
            { submissionKey: request.submissionKey },
          );
        }
        const file = jobFile(request);
        const driver = await abortable(ensureDriver(), signal);
        throwIfAborted(signal);
        const again = byKey.get(request.submissionKey);
        if (again) return submissionOf(again);
        const appId = driver.info!.appId;
        seq++;
        const run: Run = {
          submissionId: `session:${appId}:${seq}`,
          submissionKey: request.submissionKey,
          appId,
          driver,
          state: 'SUBMITTED',
          log: [],
        };
        if (
          !send(driver, {
            op: 'run',
            id: run.submissionId,
            file,
            args: request.args,
            conf: request.properties,
            name: request.name,
          })
        ) {
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `submission key "${request.submissionKey}": the shared-session driver (application ${appId}) went away just now; nothing was submitted. Submit again to start a new driver.`,
            { submissionKey: request.submissionKey },
          );
        }
        runs.set(run.submissionId, run);
        byKey.set(run.submissionKey, run);
        driver.runs.set(run.submissionId, run);
        return submissionOf(run);
      },

      async status(submissionId, callOptions = {}): Promise<SubmissionStatus> {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        return {
          state: run.state,
          appId: run.appId,
          ...(run.message !== undefined ? { message: run.message } : {}),
          ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
        };
      },

      async cancel(submissionId, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        if (isTerminal(run.state)) return;
        // A driver that already exited ends the run FAILED (onExit) on its own.
        send(run.driver, { op: 'cancel', id: submissionId });
      },

      async logs(submissionId, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        const lines = run.log.length > 0 ? run.log : run.driver.tail;
        return `${lines.join('\n')}\n`;
      },

      async findBySubmissionKey(submissionKey, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const run = byKey.get(submissionKey);
        return run ? submissionOf(run) : undefined;
      },

      async release(runId, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        const driver = current;
        if (!driver || driver.exited) return [];
        const names = new Promise<string[]>((res) => {
          const waiters = driver.releases.get(runId) ?? [];
          waiters.push(res);
          driver.releases.set(runId, waiters);
        });
        if (!send(driver, { op: 'release', runId })) return [];
        return abortable(names, signal);
      },

      async close() {
        closed = true;
        await starting?.catch(() => undefined);
        const driver = current;
        if (!driver || driver.exited) return;
        driver.closing = true;
        send(driver, { op: 'shutdown' });
        const wait = async (ms: number) => {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([driver.exitedPromise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
          clearTimeout(timer);
        };
        await wait(options.shutdownGraceMs);
        if (!driver.exited) {
          killGroup(driver.pid, 'SIGTERM');
          await wait(5_000);
        }
        if (!driver.exited) {
          killGroup(driver.pid, 'SIGKILL');
        }
        await wait(5_000);
      },
    };
  },
);

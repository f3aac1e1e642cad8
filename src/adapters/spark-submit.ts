/**
 * The `spark-submit` submission adapter: runs the local Spark installation's `bin/spark-submit` against any
 * master (`local[...]`, `spark://`, `yarn`, `k8s://`) in client or cluster deploy mode.
 *
 * Every submission leaves a few small files in `stateDir`, named by a hash of its submission key: the record
 * (`<hash>.json`), spark-submit's output (`<hash>.log`), the pid of the wrapper around spark-submit
 * (`<hash>.pid`), its exit code once it ends (`<hash>.exit`) and, after a cancel, a marker (`<hash>.cancel`).
 * So a new adapter instance on the same `stateDir` (an orchestrator that restarted) finds a submission by its
 * key and knows how it ended, even if it ended while no orchestrator was running.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
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
  type SubmissionErrorCode,
  type SubmissionRequest,
  type SubmissionStatus,
} from './adapter.js';

const ADAPTER = 'spark-submit';

const MASTER =
  /^(?:local(?:\[(?:\*|\d+)(?:,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]|spark:\/\/.+|yarn|k8s:\/\/.+)$/;

/** Options of {@link sparkSubmitAdapter}. */
export const sparkSubmitAdapterOptionsSchema = z
  .object({
    /**
     * The Spark installation whose `bin/spark-submit` runs (default: the `SPARK_HOME` environment variable
     * when the adapter is built). With PySpark from pip, that is the `pyspark` package directory.
     */
    sparkHome: z.string().min(1).optional(),
    /** The master URL, as `--master` takes it: `local[*]` (default), `local[4]`, `spark://host:7077`, `yarn`, `k8s://https://host:6443`. */
    master: z
      .string()
      .regex(MASTER, 'expected local, local[N], local[*], spark://host:port, yarn or k8s://https://host:port')
      .default('local[*]'),
    /** `client` (default): the driver runs inside spark-submit, on this host. `cluster`: on the cluster. */
    deployMode: z.enum(['client', 'cluster']).default('client'),
    /**
     * The directory of the adapter's records and spark-submit's output (default
     * `<os.tmpdir()>/sparkpilot-spark-submit`). Use a persistent directory in production: it is what lets a
     * restarted orchestrator find its submissions.
     */
    stateDir: z.string().min(1).optional(),
    /** Extra environment of spark-submit (`PYSPARK_PYTHON`, `HADOOP_CONF_DIR`, `KUBECONFIG`, ...). */
    env: z.record(z.string(), z.string()).default({}),
    /** Extra spark-submit arguments, placed before the application (`--py-files`, `--packages`, `--jars`, ...). */
    submitArgs: z.array(z.string()).default([]),
    /** How often, ms, the adapter checks a process or the cluster while it waits (cluster-mode submit, cancel). */
    pollMs: z.number().int().positive().default(500),
    /** After a cancel's SIGTERM, how long, ms, to wait before SIGKILL of the client-mode process group. */
    killGraceMs: z.number().int().nonnegative().default(10_000),
    /**
     * Standalone cluster mode: the master's web UI, whose `/json/` lists drivers and their states (default:
     * `http://<master host>:8080`, for each host of an HA master URL).
     */
    masterWebUrl: z.string().url().optional(),
    /** YARN cluster mode: the `yarn` command (default `$HADOOP_HOME/bin/yarn` when `HADOOP_HOME` is set, else `yarn`). */
    yarnCommand: z.string().min(1).optional(),
    /** How many bytes of the end of the driver log {@link SparkSubmitAdapter.logs} returns (default 64 KiB). */
    logTailBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    /** How long, ms, a status or kill command (`spark-submit --status`, `yarn application`, HTTP) may take (default 60 s). */
    commandTimeoutMs: z.number().int().positive().default(60_000),
  })
  .refine((o) => o.deployMode === 'client' || !o.master.startsWith('local'), {
    message: 'deployMode "cluster" needs a cluster master (spark://, yarn or k8s://), not a local one',
    path: ['deployMode'],
  });

/** Options of {@link sparkSubmitAdapter}, as passed. */
export type SparkSubmitAdapterOptions = z.input<typeof sparkSubmitAdapterOptionsSchema>;

/** The cluster manager a master URL names. */
export type SparkClusterManager = 'local' | 'standalone' | 'yarn' | 'k8s';

/**
 * What the adapter keeps about one submission, in `<stateDir>/<hash>.json`. Written (atomically) before
 * spark-submit starts, and updated as the adapter learns more.
 */
export interface SparkSubmitRecord {
  /** Format version of the record file. */
  version: 1;
  submissionId: string;
  submissionKey: string;
  /** The job name (`--name`). */
  name: string;
  master: string;
  deployMode: 'client' | 'cluster';
  /** When the record was first written, just before spark-submit started (ISO 8601). */
  startedAt: string;
  /** The pid of the `sh` wrapper around spark-submit; it leads its own process group (pgid = pid). */
  pid?: number;
  /** The Linux boot id when spark-submit started; a different one now means the host restarted since. */
  bootId?: string;
  /** spark-submit's stdout and stderr (in client mode, the driver's output). */
  logFile: string;
  /** Written by the wrapper when spark-submit ends: its exit code. */
  exitFile: string;
  /** Written by the wrapper when it starts: its pid. */
  pidFile: string;
  /**
   * Cluster mode: the cluster's id of the driver: `driver-<yyyyMMddHHmmss>-<nnnn>` (standalone),
   * `application_<clusterTimestamp>_<nnnn>` (YARN), `<namespace>:<driver pod>` (Kubernetes).
   */
  driverId?: string;
  /** Standalone cluster mode: spark-submit used the REST submission protocol (so `--kill` goes there too). */
  restSubmission?: boolean;
  /** The Spark application id, once found. */
  appId?: string;
  /** Spark properties that `spark-submit --status` / `--kill` need again (`spark.kubernetes.*`). */
  statusConf?: Record<string, string>;
  /** Whether the adapter set `spark.driver.log.persistToDfs.enabled` to learn the application id. */
  driverLogProbe?: boolean;
  /** The terminal status, once observed; it never changes afterwards. */
  final?: SubmissionStatus;
}

/** The `spark-submit` adapter: cancel, logs and findBySubmissionKey, plus {@link SparkSubmitAdapter.inspect}. */
export interface SparkSubmitAdapter extends SubmissionAdapter {
  readonly name: 'spark-submit';
  /** The (absolute) directory of the records and logs. */
  readonly stateDir: string;
  /** The cluster manager of the configured master. */
  readonly clusterManager: SparkClusterManager;
  cancel(submissionId: string, options?: AdapterCallOptions): Promise<void>;
  logs(submissionId: string, options?: AdapterCallOptions): Promise<string>;
  findBySubmissionKey(submissionKey: string, options?: AdapterCallOptions): Promise<Submission | undefined>;
  /**
   * The record of a submission (pid, files, the cluster's driver id, ...), as stored. Rejects with
   * `SPARKPILOT_SUBMIT_UNKNOWN_ID` for an id that has no record in `stateDir`.
   */
  inspect(submissionId: string, options?: AdapterCallOptions): Promise<SparkSubmitRecord>;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  cancel: true,
  logs: true,
  sessions: false,
  findBySubmissionKey: true,
});

/** A record without pid or pid file this long after it was written belongs to a submit that never started spark-submit. */
const START_GRACE_MS = 30_000;
/** How much of the beginning of a log is searched for the application id. */
const APP_ID_SCAN_LIMIT = 8 * 1024 * 1024;
const EXCERPT_BYTES = 64 * 1024;

/**
 * Runs `sh -c` around spark-submit: records its own pid, keeps spark-submit's output in the log, and writes
 * spark-submit's exit code when it ends, so that the outcome is known even if no orchestrator was running
 * then. TERM and INT are trapped (not ignored) so that the wrapper outlives spark-submit on a cancel and
 * still writes the code, while spark-submit itself gets the default dispositions.
 */
const WRAPPER = [
  'pidfile=$1; log=$2; exitfile=$3; shift 3',
  'echo $$ > "$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"',
  "trap 'sparkpilot_signalled=1' TERM INT",
  // A cancel that lands before spark-submit starts must not be lost.
  'if [ -z "$sparkpilot_signalled" ]; then "$@" >>"$log" 2>&1 </dev/null; code=$?; else code=143; fi',
  'echo "$code" > "$exitfile.tmp" && mv -f "$exitfile.tmp" "$exitfile"',
].join('\n');

/**
 * Which cluster manager a master URL names.
 *
 * @example
 * ```ts
 * clusterManagerOf('spark://master:7077'); // 'standalone'
 * clusterManagerOf('local[2]'); // 'local'
 * ```
 */
export function clusterManagerOf(master: string): SparkClusterManager {
  if (master.startsWith('spark://')) return 'standalone';
  if (master === 'yarn') return 'yarn';
  if (master.startsWith('k8s://')) return 'k8s';
  return 'local';
}

/**
 * The Spark application id that spark-submit's or the driver's log names, or `undefined`. Spark 4 writes it
 * in these lines (local mode writes none of its own; see {@link sparkSubmitAdapter}):
 * - standalone, client mode: `StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261130224526-0000`;
 * - YARN: `Client: Submitted application application_1700000000000_0001`;
 * - any master, with driver-log persistence: `DriverLogger$DfsAsyncWriter: Started driver log file sync to: file:/…/local-1796078664633_driver.log`;
 * - any master, with event logs: `Logging events to file:/…/eventlog_v2_local-1796078664633/events_1_local-1796078664633.zstd`;
 * - Kubernetes cluster mode: `… with application ID spark-<32 hex> …` / `spark-app-selector -> spark-<32 hex>`.
 *
 * @example
 * ```ts
 * parseSparkAppId('26/11/30 22:44:25 INFO DriverLogger$DfsAsyncWriter: Started driver log file sync to: file:/tmp/s/local-1796078664633_driver.log');
 * // 'local-1796078664633'
 * ```
 */
export function parseSparkAppId(text: string): string | undefined {
  const m =
    /Connected to Spark cluster with app ID (\S+)/.exec(text) ??
    /Submitted application (application_\d+_\d+)/.exec(text) ??
    /Started driver log file sync to: \S*?([^/\s]+)_driver\.log/.exec(text) ??
    /Logging events to \S*?eventlog_v2_([^/\s]+)/.exec(text) ??
    /Logging events to \S*?\/((?:local-\d+|app-\d{14}-\d{4,}|application_\d+_\d+|spark-application-\d+|spark-[0-9a-f]{32}))(?=[._\s]|$)/.exec(
      text,
    ) ??
    /application ID (spark-[0-9a-f]{32})/.exec(text) ??
    /spark-app-selector -> (spark-[0-9a-f]{32})/.exec(text);
  return m?.[1];
}

/**
 * The cluster's id of a driver that `spark-submit --deploy-mode cluster` printed, or `undefined`:
 * `driver-…` (standalone: `Driver successfully submitted as driver-…` or, over REST, `Submission successfully
 * created as driver-…`), `application_…` (YARN: `Submitted application application_…`), `<namespace>:<pod>`
 * (Kubernetes: `submission ID <namespace>:<pod>`, or the `pod name:` and `namespace:` of the pod status).
 *
 * @example
 * ```ts
 * parseDriverId('INFO ClientEndpoint: Driver successfully submitted as driver-20261130224520-0000', 'standalone');
 * // 'driver-20261130224520-0000'
 * ```
 */
export function parseDriverId(text: string, manager: SparkClusterManager): string | undefined {
  switch (manager) {
    case 'standalone':
      return /\b(driver-\d{14}-\d{4,})\b/.exec(text)?.[1];
    case 'yarn':
      return /\b(application_\d+_\d+)\b/.exec(text)?.[1];
    case 'k8s': {
      const sid = /submission ID (\S+:\S+)/.exec(text)?.[1];
      if (sid) return sid;
      const pod = /pod name: (\S+)/.exec(text)?.[1];
      const ns = /namespace: (\S+)/.exec(text)?.[1];
      return pod && ns && ns !== 'N/A' ? `${ns}:${pod}` : undefined;
    }
    default:
      return undefined;
  }
}

const LOG_LINE = /^\d{2}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} [A-Z]+ /;

/**
 * The last error lines of a driver log: the last Python traceback, else the last `ERROR` / exception line
 * with its message lines (stack frames left out), else the last lines that are not INFO/WARN log lines.
 *
 * @example
 * ```ts
 * errorExcerpt('Traceback (most recent call last):\n  File "job.py", line 3, in <module>\nValueError: bad input\n');
 * // 'Traceback (most recent call last):\n  File "job.py", line 3, in <module>\nValueError: bad input'
 * ```
 */
export function errorExcerpt(text: string, maxLines = 15): string | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const limit = (block: string[]) =>
    (block.length > maxLines ? [block[0]!, '…', ...block.slice(-(maxLines - 2))] : block).join('\n');
  let tb = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith('Traceback (most recent call last):')) {
      tb = i;
      break;
    }
  }
  if (tb >= 0) {
    const block: string[] = [];
    for (let i = tb; i < lines.length && !LOG_LINE.test(lines[i]!); i++) block.push(lines[i]!);
    while (block.length > 0 && block[block.length - 1]!.trim() === '') block.pop();
    return limit(block);
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (/^\S.* (ERROR|FATAL) /.test(l) || /^Exception in thread /.test(l) || /^Error: /.test(l)) {
      const block = [l];
      for (let j = i + 1; j < lines.length && block.length < maxLines; j++) {
        const next = lines[j]!;
        if (LOG_LINE.test(next)) break;
        if (/^\s+at /.test(next) || /^\s*\.\.\. \d+ more/.test(next) || next.trim() === '') continue;
        block.push(next);
      }
      return block.join('\n');
    }
  }
  const plain = lines.filter((l) => l.trim() !== '' && !/^\S.* (INFO|WARN|DEBUG) /.test(l));
  return plain.length > 0 ? plain.slice(-Math.min(maxLines, 10)).join('\n') : undefined;
}

/**
 * Builds a `spark-submit` adapter. `submit` runs `bin/spark-submit` detached, in its own process group,
 * through a small `sh` wrapper that records its exit code in `stateDir`:
 *
 * - client mode (any master): the submission is the spark-submit process. It is `RUNNING` while its process
 *   group lives, then `SUCCEEDED` (exit 0), `FAILED` (with the exit code and the last error lines of the
 *   driver log) or `KILLED` (after {@link SparkSubmitAdapter.cancel}: SIGTERM to the group, SIGKILL after
 *   `killGraceMs`). A process that is gone without an exit code (the host restarted, or it was SIGKILLed
 *   from outside) is `FAILED`: in client mode the driver died with it.
 * - cluster mode: `submit` waits for spark-submit to hand the driver to the cluster and reads the driver's
 *   id; status then comes from the standalone master's `/json/`, `yarn application -status`, or
 *   `spark-submit --status` (Kubernetes); cancel from `spark-class org.apache.spark.deploy.Client kill`
 *   (standalone; `spark-submit --kill` when submitted over REST), `yarn application -kill`, or
 *   `spark-submit --kill` (Kubernetes).
 *
 * Each request goes out as `--name <name>`, one `--conf k=v` per property, and
 * `--conf spark.sparkpilot.submissionKey=<key>` (so the key shows in the application's environment and
 * event log). Local mode logs no application id of its own, so in client mode on a `local` or `k8s://`
 * master the adapter also sets `spark.driver.log.persistToDfs.enabled=true` with
 * `spark.driver.log.dfsDir=<stateDir>/driver-logs` (unless the request sets either), whose
 * `Started driver log file sync to: …/<appId>_driver.log` line names it; the copy is deleted once the
 * submission ends.
 *
 * @example
 * ```ts
 * const adapter = sparkSubmitAdapter({
 *   sparkHome: '/opt/spark',
 *   master: 'spark://spark-master:7077',
 *   deployMode: 'cluster',
 *   masterWebUrl: 'http://spark-master:8080',
 *   stateDir: '/var/lib/sparkpilot/spark-submit',
 * });
 * const sub = await adapter.submit({
 *   submissionKey: 'nightly-etl/2024-06-01/attempt-1',
 *   application: { className: 'com.example.Etl', jar: 'hdfs:///jobs/etl.jar' },
 *   args: ['--date', '2024-06-01'],
 *   properties: { 'spark.executor.memory': '8g' },
 *   name: 'nightly-etl',
 * });
 * (await adapter.inspect(sub.submissionId)).driverId; // 'driver-20240601020000-0042'
 * ```
 */
export const sparkSubmitAdapter = defineFactory(
  ADAPTER,
  sparkSubmitAdapterOptionsSchema,
  (options): SparkSubmitAdapter => {
    const sparkHome = options.sparkHome ?? process.env.SPARK_HOME;
    const stateDir = resolve(options.stateDir ?? join(tmpdir(), 'sparkpilot-spark-submit'));
    const manager = clusterManagerOf(options.master);
    const cluster = options.deployMode === 'cluster';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      ...(sparkHome !== undefined ? { SPARK_HOME: sparkHome } : {}),
    };
    /** Children this instance started, kept so that Node reaps them (and for a quicker exit check). */
    const children = new Map<string, ChildProcess>();
    /** How far each log was searched for the application id. */
    const scanned = new Map<string, number>();
    let checkedSparkSubmit: string | undefined;
    let dirReady: Promise<void> | undefined;

    const fail = (
      code: SubmissionErrorCode,
      message: string,
      extra: { submissionKey?: string; submissionId?: string; cause?: unknown; retryable?: boolean } = {},
    ) => new SubmissionError(code, message, { adapter: ADAPTER, ...extra });

    const hashOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);
    const idOf = (hash: string) => `${ADAPTER}:${hash}`;
    const hashOfId = (submissionId: string) => /^spark-submit:([0-9a-f]{32})$/.exec(submissionId)?.[1];
    const file = (hash: string, ext: string) => join(stateDir, `${hash}.${ext}`);

    const ensureDir = () => {
      dirReady ??= mkdir(stateDir, { recursive: true }).then(
        () => undefined,
        (err: unknown) => {
          dirReady = undefined;
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `cannot create the state directory ${stateDir}: ${(err as Error).message}. Pass a writable stateDir.`,
            { cause: err },
          );
        },
      );
      return dirReady;
    };

    const sparkSubmitPath = async (): Promise<string> => {
      if (checkedSparkSubmit) return checkedSparkSubmit;
      if (sparkHome === undefined) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          'no Spark installation: the sparkHome option is not set and neither is SPARK_HOME. Pass sparkHome (the directory holding bin/spark-submit).',
        );
      }
      const path = join(sparkHome, 'bin', 'spark-submit');
      try {
        await access(path, fsConstants.X_OK);
      } catch (err) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `${path} is missing or not executable (sparkHome ${sparkHome}). Point sparkHome (or SPARK_HOME) at a Spark installation.`,
          { cause: err },
        );
      }
      checkedSparkSubmit = path;
      return path;
    };

    const unknownId = (submissionId: string) =>
      fail(
        'SPARKPILOT_SUBMIT_UNKNOWN_ID',
        `submission "${submissionId}" is unknown: ${stateDir} holds no record of it. Check that the id comes from a spark-submit adapter with this stateDir.`,
        { submissionId },
      );

    const readRecord = async (hash: string): Promise<SparkSubmitRecord | undefined> => {
      const path = file(hash, 'json');
      for (let attempt = 0; ; attempt++) {
        let text: string;
        try {
          text = await readFile(path, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw fail('SPARKPILOT_SUBMIT_REJECTED', `cannot read ${path}: ${(err as Error).message}.`, {
            cause: err,
          });
        }
        try {
          return JSON.parse(text) as SparkSubmitRecord;
        } catch (err) {
          // Only the `wx` fallback of a file system without hard links can show a half-written record.
          if (attempt < 3) {
            await sleep(20);
            continue;
          }
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `${path} is not valid JSON (${(err as Error).message}). Move it away if it is damaged; the submission it was for is then unknown.`,
            { cause: err },
          );
        }
      }
    };

    const recordOf = async (submissionId: string): Promise<SparkSubmitRecord> => {
      const hash = hashOfId(submissionId);
      const record = hash ? await readRecord(hash) : undefined;
      if (!record) throw unknownId(submissionId);
      return record;
    };

    const saveRecord = (record: SparkSubmitRecord) =>
      writeAtomic(file(hashOfId(record.submissionId)!, 'json'), `${JSON.stringify(record, null, 2)}\n`);

    const submissionOf = (record: SparkSubmitRecord): Submission => ({
      submissionId: record.submissionId,
      submissionKey: record.submissionKey,
      ...(record.appId !== undefined ? { appId: record.appId } : {}),
    });

    const argvOf = (request: SubmissionRequest, probe: boolean): string[] => {
      const argv = ['--master', options.master, '--deploy-mode', options.deployMode, '--name', request.name];
      for (const [k, v] of Object.entries(request.properties)) argv.push('--conf', `${k}=${v}`);
      if (probe) {
        argv.push('--conf', 'spark.driver.log.persistToDfs.enabled=true');
        argv.push('--conf', `spark.driver.log.dfsDir=file://${join(stateDir, 'driver-logs')}`);
      }
      // spark-submit returns once the cluster accepted the driver; the adapter follows it from there.
      if (cluster && manager === 'yarn') argv.push('--conf', 'spark.yarn.submit.waitAppCompletion=false');
      if (cluster && manager === 'k8s') {
        argv.push('--conf', 'spark.kubernetes.submission.waitAppCompletion=false');
      }
      argv.push('--conf', `spark.sparkpilot.submissionKey=${request.submissionKey}`);
      argv.push(...options.submitArgs);
      const app = request.application;
      if ('className' in app) argv.push('--class', app.className, app.jar);
      else argv.push(app.file);
      argv.push(...request.args);
      return argv;
    };

    const checkRequest = async (request: SubmissionRequest) => {
      const key = request.submissionKey;
      if (typeof key !== 'string' || key.length === 0) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          'the request has an empty submissionKey. Pass a key unique to the job attempt.',
        );
      }
      for (const k of Object.keys(request.properties)) {
        if (k.length === 0 || k.includes('=')) {
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `submission key "${key}": property name "${k}" cannot be passed as --conf k=v. Fix the job's properties.`,
            { submissionKey: key },
          );
        }
      }
      const app = request.application;
      if (cluster) return;
      // In client mode the application is read on this host: say so now rather than in a FAILED status.
      const path = 'className' in app ? app.jar : app.file;
      const local = /^file:/.test(path)
        ? new URL(path).pathname
        : /^[a-z][a-z0-9+.-]*:/i.test(path)
          ? undefined
          : path;
      if (local === undefined) return;
      try {
        await access(isAbsolute(local) ? local : resolve(local), fsConstants.R_OK);
      } catch (err) {
        throw fail(
          'SPARKPILOT_SUBMIT_REJECTED',
          `submission key "${key}": the application ${path} is not a readable file on this host. Check the path (relative paths are resolved from ${process.cwd()}).`,
          { submissionKey: key, cause: err },
        );
      }
    };

    const pidOf = async (record: SparkSubmitRecord): Promise<number | undefined> => {
      if (record.pid !== undefined) return record.pid;
      const text = await readOptional(record.pidFile);
      const pid = text === undefined ? Number.NaN : Number.parseInt(text.trim(), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    };

    /** Whether spark-submit's process group may still be running. */
    const groupAlive = async (record: SparkSubmitRecord): Promise<boolean | 'not-started'> => {
      const pid = await pidOf(record);
      if (pid === undefined) {
        return Date.now() - Date.parse(record.startedAt) < START_GRACE_MS ? true : 'not-started';
      }
      if (record.bootId !== undefined) {
        const boot = await bootId();
        if (boot !== undefined && boot !== record.bootId) return false;
      }
      try {
        process.kill(-pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    };

    const exitCodeOf = async (record: SparkSubmitRecord): Promise<number | undefined> => {
      const text = await readOptional(record.exitFile);
      if (text === undefined) return undefined;
      const code = Number.parseInt(text.trim(), 10);
      return Number.isInteger(code) ? code : undefined;
    };

    const cancelled = async (hash: string) => (await readOptional(file(hash, 'cancel'))) !== undefined;

    /** Finds the application id in the log (searching each part of it once), and stores it in the record. */
    const learnAppId = async (record: SparkSubmitRecord): Promise<SparkSubmitRecord> => {
      if (record.appId !== undefined) return record;
      const hash = hashOfId(record.submissionId)!;
      const from = scanned.get(hash) ?? 0;
      if (from >= APP_ID_SCAN_LIMIT) return record;
      const start = Math.max(0, from - 4096);
      const text = await readRange(record.logFile, start, APP_ID_SCAN_LIMIT - start);
      if (text === undefined) return record;
      scanned.set(hash, start + Buffer.byteLength(text));
      const appId = parseSparkAppId(text);
      if (appId === undefined) return record;
      const next = { ...record, appId };
      await saveRecord(next);
      return next;
    };

    /** Stores a terminal status; a status computed from the files once is the same forever after. */
    const finish = async (record: SparkSubmitRecord, status: SubmissionStatus): Promise<SubmissionStatus> => {
      const final: SubmissionStatus = {
        ...status,
        ...(record.appId !== undefined && status.appId === undefined ? { appId: record.appId } : {}),
      };
      await saveRecord({ ...record, ...(final.appId !== undefined ? { appId: final.appId } : {}), final });
      if (record.driverLogProbe && final.appId !== undefined) {
        const dir = join(stateDir, 'driver-logs');
        await rm(join(dir, `${final.appId}_driver.log`), { force: true }).catch(() => undefined);
        await rm(join(dir, `.${final.appId}_driver.log.crc`), { force: true }).catch(() => undefined);
      }
      children.delete(hashOfId(record.submissionId)!);
      return final;
    };

    const withAppId = (record: SparkSubmitRecord, status: SubmissionStatus): SubmissionStatus =>
      record.appId !== undefined && status.appId === undefined ? { ...status, appId: record.appId } : status;

    /** Status of a process the adapter follows itself: any client-mode submission. */
    const processStatus = async (record: SparkSubmitRecord): Promise<SubmissionStatus> => {
      const hash = hashOfId(record.submissionId)!;
      record = await learnAppId(record);
      let code = await exitCodeOf(record);
      if (code === undefined) {
        const alive = await groupAlive(record);
        if (alive === true) return withAppId(record, { state: 'RUNNING' });
        // It may have ended between the two reads.
        code = await exitCodeOf(record);
        if (code === undefined) {
          if (await cancelled(hash))
            return finish(record, { state: 'KILLED', message: 'Killed by request.' });
          const why =
            alive === 'not-started'
              ? 'spark-submit was never started: the orchestrator stopped while submitting.'
              : `spark-submit (process group ${await pidOf(record)}) ended without recording its exit code: the host restarted, or the process was killed with SIGKILL.`;
          const tail = await readTail(record.logFile, EXCERPT_BYTES);
          const excerpt = tail ? errorExcerpt(tail) : undefined;
          return finish(record, {
            state: 'FAILED',
            message: `${why}${excerpt ? ` Last lines of ${record.logFile}:\n${excerpt}` : ''} Submit the job again (a new attempt).`,
          });
        }
      }
      record = await learnAppId(record);
      if (code === 0) return finish(record, { state: 'SUCCEEDED', exitCode: 0 });
      if (await cancelled(hash)) {
        return finish(record, { state: 'KILLED', exitCode: code, message: 'Killed by request.' });
      }
      const tail = await readTail(record.logFile, EXCERPT_BYTES);
      const excerpt = tail ? errorExcerpt(tail) : undefined;
      const signal = code > 128 && code < 160 ? ` (signal ${code - 128})` : '';
      return finish(record, {
        state: 'FAILED',
        exitCode: code,
        message: `spark-submit exited with code ${code}${signal}.${excerpt ? ` Last error lines of ${record.logFile}:\n${excerpt}` : ` See ${record.logFile}.`}`,
      });
    };

    /** Cluster mode before the driver id is known: spark-submit is still handing it over, or failed to. */
    const handoverStatus = async (
      record: SparkSubmitRecord,
    ): Promise<{ record: SparkSubmitRecord; status?: SubmissionStatus }> => {
      const code = await exitCodeOf(record);
      const log = (await readRange(record.logFile, 0, APP_ID_SCAN_LIMIT)) ?? '';
      const driverId = parseDriverId(log, manager);
      if (driverId !== undefined) {
        const appId = parseSparkAppId(log);
        const next: SparkSubmitRecord = {
          ...record,
          driverId,
          ...(appId !== undefined ? { appId } : {}),
          ...(log.includes('REST application submission protocol') ? { restSubmission: true } : {}),
        };
        await saveRecord(next);
        return { record: next };
      }
      if (code === undefined) {
        const alive = await groupAlive(record);
        if (alive === true) return { record, status: { state: 'SUBMITTED' } };
      }
      const excerpt = errorExcerpt(log.slice(-EXCERPT_BYTES));
      return {
        record,
        status: await finish(record, {
          state: 'FAILED',
          ...(code !== undefined ? { exitCode: code } : {}),
          message: `spark-submit did not hand the driver to ${record.master}${code !== undefined ? ` (exit code ${code})` : ' (it ended without an exit code)'}.${excerpt ? ` Last error lines of ${record.logFile}:\n${excerpt}` : ''}`,
        }),
      };
    };

    const webUrls = (): string[] => {
      if (options.masterWebUrl) return [options.masterWebUrl.replace(/\/+$/, '')];
      const hosts = options.master.slice('spark://'.length).split(',');
      return hosts.map((h) => `http://${h.replace(/:\d+$/, '')}:8080`);
    };

    interface MasterJson {
      status?: string;
      workers?: { id: string; webuiaddress?: string }[];
      activedrivers?: { id: string; state: string; worker?: string }[];
      completeddrivers?: { id: string; state: string; worker?: string }[];
    }

    const masterJson = async (
      signal: AbortSignal | undefined,
      record: SparkSubmitRecord,
    ): Promise<MasterJson> => {
      let lastErr: unknown;
      let standby: MasterJson | undefined;
      for (const url of webUrls()) {
        try {
          const json = (await fetchText(`${url}/json/`, signal, options.commandTimeoutMs).then((t) =>
            JSON.parse(t),
          )) as MasterJson;
          if (json.status === undefined || json.status === 'ALIVE') return json;
          standby = json;
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          lastErr = err;
        }
      }
      if (standby) return standby;
      throw fail(
        'SPARKPILOT_SUBMIT_UNREACHABLE',
        `the standalone master's web UI (${webUrls().join(', ')}) did not answer /json/ for ${record.driverId}: ${(lastErr as Error | undefined)?.message ?? 'no URL'}. Check that the master is up, or pass masterWebUrl.`,
        { submissionId: record.submissionId, cause: lastErr },
      );
    };

    /** A standalone worker's log of a driver (`stderr` or `stdout`), `byteLength` bytes from `offset` (-1: the end). */
    const workerLog = async (
      json: MasterJson,
      driver: { id: string; worker?: string },
      logType: 'stderr' | 'stdout',
      offset: number,
      byteLength: number,
      signal: AbortSignal | undefined,
    ): Promise<string | undefined> => {
      const worker = json.workers?.find((w) => w.id === driver.worker);
      if (!worker?.webuiaddress) return undefined;
      const at = offset >= 0 ? `&offset=${offset}` : '';
      try {
        const text = await fetchText(
          `${worker.webuiaddress.replace(/\/+$/, '')}/log/?driverId=${encodeURIComponent(driver.id)}&logType=${logType}${at}&byteLength=${byteLength}`,
          signal,
          options.commandTimeoutMs,
        );
        // The worker prefixes `==== Bytes a-b of n of <path> ====`.
        return text.replace(/^==== Bytes .*? ====\n/, '');
      } catch {
        if (signal?.aborted) throw signal.reason;
        return undefined;
      }
    };

    const standaloneStatus = async (
      record: SparkSubmitRecord,
      signal: AbortSignal | undefined,
    ): Promise<SubmissionStatus> => {
      const json = await masterJson(signal, record);
      const driver = [...(json.activedrivers ?? []), ...(json.completeddrivers ?? [])].find(
        (d) => d.id === record.driverId,
      );
      if (!driver) {
        return withAppId(record, {
          state: 'UNKNOWN',
          message: `the master does not list driver ${record.driverId} (it keeps only the last spark.deploy.retainedDrivers finished drivers, and forgets them when it restarts without recovery).`,
        });
      }
      if (record.appId === undefined && driver.state !== 'SUBMITTED') {
        const head = await workerLog(json, driver, 'stderr', 0, 256 * 1024, signal);
        const appId = head ? parseSparkAppId(head) : undefined;
        if (appId !== undefined) {
          record = { ...record, appId };
          await saveRecord(record);
        }
      }
      const on = driver.worker ? ` on worker ${driver.worker}` : '';
      switch (driver.state) {
        case 'SUBMITTED':
          return withAppId(record, { state: 'SUBMITTED' });
        case 'RUNNING':
        case 'RELAUNCHING':
          return withAppId(record, { state: 'RUNNING' });
        case 'FINISHED':
          return finish(record, { state: 'SUCCEEDED' });
        case 'KILLED':
          return finish(record, { state: 'KILLED', message: `Driver ${record.driverId} was killed${on}.` });
        case 'FAILED':
        case 'ERROR': {
          const tail = await workerLog(json, driver, 'stderr', -1, EXCERPT_BYTES, signal);
          const excerpt = tail ? errorExcerpt(tail) : undefined;
          return finish(record, {
            state: 'FAILED',
            message: `Driver ${record.driverId} ended ${driver.state}${on}${driver.state === 'FAILED' ? ' (it exited with a non-zero code)' : ' (it could not be started)'}.${excerpt ? ` Last error lines of its stderr:\n${excerpt}` : ''}`,
          });
        }
        default:
          return withAppId(record, {
            state: 'UNKNOWN',
            message: `The master reports driver state ${driver.state}.`,
          });
      }
    };

    const yarnCommand = () =>
      options.yarnCommand ??
      (env.HADOOP_HOME
        ? join(env.HADOOP_HOME, 'bin', 'yarn')
        : env.HADOOP_YARN_HOME
          ? join(env.HADOOP_YARN_HOME, 'bin', 'yarn')
          : 'yarn');

    const yarnStatus = async (
      record: SparkSubmitRecord,
      signal: AbortSignal | undefined,
    ): Promise<SubmissionStatus> => {
      const appId = record.driverId!;
      const out = await run(yarnCommand(), ['application', '-status', appId], signal, record);
      const field = (name: string) => new RegExp(`^\\s*${name} : (.*)$`, 'm').exec(out.output)?.[1]?.trim();
      const state = field('State');
      const finalState = field('Final-State');
      if (out.code !== 0 || state === undefined) {
        if (/doesn't exist|not found|ApplicationNotFoundException/i.test(out.output)) {
          return withAppId(record, { state: 'UNKNOWN', message: `YARN does not know ${appId} (any more).` });
        }
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `\`yarn application -status ${appId}\` failed (exit ${out.code}): ${lastLines(out.output, 5)}. Check HADOOP_CONF_DIR / YARN_CONF_DIR in env, and that the ResourceManager is up.`,
          { submissionId: record.submissionId },
        );
      }
      const diagnostics = field('Diagnostics');
      const rec = { ...record, appId };
      switch (state) {
        case 'NEW':
        case 'NEW_SAVING':
        case 'SUBMITTED':
        case 'ACCEPTED':
          return { state: 'SUBMITTED', appId };
        case 'RUNNING':
          return { state: 'RUNNING', appId };
        case 'FINISHED':
          if (finalState === 'SUCCEEDED') return finish(rec, { state: 'SUCCEEDED', appId });
          if (finalState === 'KILLED') return finish(rec, { state: 'KILLED', appId });
          return finish(rec, {
            state: 'FAILED',
            appId,
            message: `YARN final status ${finalState}.${diagnostics ? ` Diagnostics: ${diagnostics}` : ''}`,
          });
        case 'FAILED':
          return finish(rec, {
            state: 'FAILED',
            appId,
            message: `YARN state FAILED.${diagnostics ? ` Diagnostics: ${diagnostics}` : ''}`,
          });
        case 'KILLED':
          return finish(rec, { state: 'KILLED', appId });
        default:
          return { state: 'UNKNOWN', appId, message: `YARN reports state ${state}.` };
      }
    };

    const confArgs = (record: SparkSubmitRecord) =>
      Object.entries(record.statusConf ?? {}).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);

    const k8sStatus = async (
      record: SparkSubmitRecord,
      signal: AbortSignal | undefined,
    ): Promise<SubmissionStatus> => {
      const out = await run(
        await sparkSubmitPath(),
        ['--master', record.master, ...confArgs(record), '--status', record.driverId!],
        signal,
        record,
      );
      if (/Application not found|No applications found/.test(out.output)) {
        if (await cancelled(hashOfId(record.submissionId)!)) {
          return finish(record, {
            state: 'KILLED',
            message: 'Killed by request (the driver pod was deleted).',
          });
        }
        return withAppId(record, {
          state: 'UNKNOWN',
          message: `Kubernetes has no driver pod ${record.driverId} (any more).`,
        });
      }
      const phase = /phase: (\w+)/.exec(out.output)?.[1];
      if (out.code !== 0 || phase === undefined) {
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `\`spark-submit --status ${record.driverId}\` failed (exit ${out.code}): ${lastLines(out.output, 5)}. Check the master URL, KUBECONFIG and the spark.kubernetes.authenticate.submission.* properties.`,
          { submissionId: record.submissionId },
        );
      }
      const exitCode = /exit code: (-?\d+)/.exec(out.output)?.[1];
      const reason = /termination reason: (.*)/.exec(out.output)?.[1]?.trim();
      const code = exitCode !== undefined ? { exitCode: Number(exitCode) } : {};
      switch (phase) {
        case 'Pending':
          return withAppId(record, { state: 'SUBMITTED' });
        case 'Running':
          return withAppId(record, { state: 'RUNNING' });
        case 'Succeeded':
          return finish(record, { state: 'SUCCEEDED', ...code });
        case 'Failed':
          if (await cancelled(hashOfId(record.submissionId)!))
            return finish(record, { state: 'KILLED', ...code });
          return finish(record, {
            state: 'FAILED',
            ...code,
            message: `Driver pod ${record.driverId} failed${reason ? ` (${reason})` : ''}${exitCode !== undefined ? ` with exit code ${exitCode}` : ''}. See \`kubectl logs\` of the pod.`,
          });
        default:
          return withAppId(record, { state: 'UNKNOWN', message: `The driver pod is in phase ${phase}.` });
      }
    };

    /** Runs a short command (status, kill) to its end; rejects UNREACHABLE when it cannot start. */
    const run = async (
      command: string,
      args: string[],
      signal: AbortSignal | undefined,
      record: SparkSubmitRecord,
    ): Promise<{ code: number; output: string }> => {
      try {
        return await runCommand(command, args, env, signal, options.commandTimeoutMs);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw fail(
          'SPARKPILOT_SUBMIT_UNREACHABLE',
          `cannot run ${command} for submission "${record.submissionId}": ${(err as Error).message}. Check that it is installed and on PATH.`,
          { submissionId: record.submissionId, cause: err },
        );
      }
    };

    const statusOf = async (
      record: SparkSubmitRecord,
      signal: AbortSignal | undefined,
    ): Promise<SubmissionStatus> => {
      if (record.final) return record.final;
      if (record.deployMode === 'client') return processStatus(record);
      if (record.driverId === undefined) {
        const handover = await handoverStatus(record);
        if (handover.status) return handover.status;
        record = handover.record;
      }
      switch (clusterManagerOf(record.master)) {
        case 'standalone':
          return standaloneStatus(record, signal);
        case 'yarn':
          return yarnStatus(record, signal);
        default:
          return k8sStatus(record, signal);
      }
    };

    /** Waits (cluster mode) until spark-submit ended, then returns the record with the driver id, or throws. */
    const awaitHandover = async (
      record: SparkSubmitRecord,
      signal: AbortSignal | undefined,
    ): Promise<SparkSubmitRecord> => {
      const hash = hashOfId(record.submissionId)!;
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        const code = await exitCodeOf(record);
        if (code !== undefined || (await groupAlive(record)) !== true) break;
        await sleep(options.pollMs, signal);
      }
      const handover = await handoverStatus(record);
      if (!handover.status) return handover.record;
      // Rejected: forget the attempt, so that a retry under the same key submits again.
      const log = (await readTail(record.logFile, EXCERPT_BYTES)) ?? '';
      await rename(record.logFile, file(hash, `rejected-${Date.now()}.log`)).catch(() => undefined);
      await Promise.all(['json', 'exit', 'pid', 'cancel'].map((ext) => rm(file(hash, ext), { force: true })));
      children.delete(hash);
      const unreachable =
        /Connection refused|Failed to connect to|All masters are unresponsive|Unable to connect to server|UnknownHostException|No route to host|timed out/i.test(
          log,
        );
      throw fail(
        unreachable ? 'SPARKPILOT_SUBMIT_UNREACHABLE' : 'SPARKPILOT_SUBMIT_REJECTED',
        `submission key "${record.submissionKey}": ${unreachable ? 'the cluster could not be reached (a retry may help).' : 'the cluster refused the submission; fix the request (application, properties, submitArgs) and submit again.'}\n${handover.status.message}`,
        { submissionKey: record.submissionKey },
      );
    };

    return {
      name: ADAPTER,
      capabilities: CAPABILITIES,
      stateDir,
      clusterManager: manager,

      async submit(request, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        const hash = hashOf(request.submissionKey);
        const existing = await readRecord(hash);
        if (existing) return submissionOf(existing);
        const sparkSubmit = await sparkSubmitPath();
        await checkRequest(request);
        await ensureDir();
        throwIfAborted(signal);
        const props = request.properties;
        const probe =
          !cluster &&
          (manager === 'local' || manager === 'k8s') &&
          props['spark.driver.log.persistToDfs.enabled'] === undefined &&
          props['spark.driver.log.dfsDir'] === undefined;
        if (probe) await mkdir(join(stateDir, 'driver-logs'), { recursive: true });
        const boot = await bootId();
        const statusConf = Object.fromEntries(
          Object.entries(props).filter(
            ([k]) => cluster && manager === 'k8s' && k.startsWith('spark.kubernetes.'),
          ),
        );
        const record: SparkSubmitRecord = {
          version: 1,
          submissionId: idOf(hash),
          submissionKey: request.submissionKey,
          name: request.name,
          master: options.master,
          deployMode: options.deployMode,
          startedAt: new Date().toISOString(),
          ...(boot !== undefined ? { bootId: boot } : {}),
          logFile: file(hash, 'log'),
          exitFile: file(hash, 'exit'),
          pidFile: file(hash, 'pid'),
          ...(Object.keys(statusConf).length > 0 ? { statusConf } : {}),
          ...(probe ? { driverLogProbe: true } : {}),
        };
        // The record exists before spark-submit does: a submit that dies midway is still found by its key.
        if (!(await createExclusive(file(hash, 'json'), `${JSON.stringify(record, null, 2)}\n`))) {
          const raced = await readRecord(hash);
          if (raced) return submissionOf(raced);
        }
        await Promise.all(['exit', 'pid', 'cancel'].map((ext) => rm(file(hash, ext), { force: true })));
        let child: ChildProcess;
        try {
          child = spawn(
            '/bin/sh',
            [
              '-c',
              WRAPPER,
              'sparkpilot-spark-submit',
              record.pidFile,
              record.logFile,
              record.exitFile,
              sparkSubmit,
              ...argvOf(request, probe),
            ],
            { detached: true, stdio: 'ignore', env },
          );
          await new Promise<void>((res, rej) => {
            child.once('spawn', res);
            child.once('error', rej);
          });
        } catch (err) {
          await rm(file(hash, 'json'), { force: true });
          throw fail(
            'SPARKPILOT_SUBMIT_REJECTED',
            `submission key "${request.submissionKey}": cannot start /bin/sh to run ${sparkSubmit}: ${(err as Error).message}.`,
            { submissionKey: request.submissionKey, cause: err },
          );
        }
        child.unref();
        children.set(hash, child);
        child.once('exit', () => children.delete(hash));
        let started: SparkSubmitRecord = { ...record, pid: child.pid! };
        await saveRecord(started);
        if (cluster) started = await awaitHandover(started, signal);
        return submissionOf(started);
      },

      async status(submissionId, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        const status = await statusOf(await recordOf(submissionId), signal);
        throwIfAborted(signal);
        return status;
      },

      async cancel(submissionId, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        let record = await recordOf(submissionId);
        const hash = hashOfId(submissionId)!;
        if (isTerminal((await statusOf(record, signal)).state)) return;
        await writeFile(file(hash, 'cancel'), `${new Date().toISOString()}\n`);
        record = (await readRecord(hash)) ?? record;
        if (record.deployMode === 'client' || record.driverId === undefined) {
          // Client mode, or a cluster-mode spark-submit still handing the driver over: stop the process group.
          const pid = await pidOf(record);
          if (pid === undefined) return;
          const kill = (sig: NodeJS.Signals) => {
            try {
              process.kill(-pid, sig);
            } catch {
              // already gone
            }
          };
          kill('SIGTERM');
          const deadline = Date.now() + options.killGraceMs;
          while ((await groupAlive(record)) === true && Date.now() < deadline) {
            await sleep(Math.min(options.pollMs, 200), signal);
          }
          if ((await groupAlive(record)) === true) kill('SIGKILL');
          return;
        }
        const sparkSubmit = await sparkSubmitPath();
        let out: { code: number; output: string };
        switch (clusterManagerOf(record.master)) {
          case 'standalone':
            out = record.restSubmission
              ? await run(sparkSubmit, ['--master', record.master, '--kill', record.driverId], signal, record)
              : await run(
                  join(sparkHome!, 'bin', 'spark-class'),
                  ['org.apache.spark.deploy.Client', 'kill', record.master, record.driverId],
                  signal,
                  record,
                );
            break;
          case 'yarn':
            out = await run(yarnCommand(), ['application', '-kill', record.driverId], signal, record);
            break;
          default:
            out = await run(
              sparkSubmit,
              ['--master', record.master, ...confArgs(record), '--kill', record.driverId],
              signal,
              record,
            );
        }
        if (out.code !== 0) {
          await rm(file(hash, 'cancel'), { force: true });
          throw fail(
            'SPARKPILOT_SUBMIT_UNREACHABLE',
            `killing ${record.driverId} on ${record.master} failed (exit ${out.code}): ${lastLines(out.output, 5)}. Check that the cluster is reachable, then cancel again.`,
            { submissionId },
          );
        }
      },

      async logs(submissionId, callOptions = {}) {
        const { signal } = callOptions;
        throwIfAborted(signal);
        const record = await recordOf(submissionId);
        const local = (await readTail(record.logFile, options.logTailBytes)) ?? '';
        if (
          record.deployMode === 'cluster' &&
          record.driverId !== undefined &&
          clusterManagerOf(record.master) === 'standalone'
        ) {
          try {
            const json = await masterJson(signal, record);
            const driver = [...(json.activedrivers ?? []), ...(json.completeddrivers ?? [])].find(
              (d) => d.id === record.driverId,
            );
            const stderr = driver
              ? await workerLog(json, driver, 'stderr', -1, options.logTailBytes, signal)
              : undefined;
            const stdout = driver
              ? await workerLog(json, driver, 'stdout', -1, options.logTailBytes, signal)
              : undefined;
            if (stderr !== undefined || stdout !== undefined) {
              return `==== spark-submit (${record.logFile}) ====\n${local}\n==== driver ${record.driverId} stdout ====\n${stdout ?? ''}\n==== driver ${record.driverId} stderr ====\n${stderr ?? ''}`;
            }
          } catch {
            if (signal?.aborted) throw signal.reason;
            // The master cannot be reached: the local part is all there is.
          }
        }
        throwIfAborted(signal);
        return local;
      },

      async findBySubmissionKey(submissionKey, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const record = await readRecord(hashOf(submissionKey));
        return record ? submissionOf(record) : undefined;
      },

      async inspect(submissionId, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        return recordOf(submissionId);
      },
    };
  },
);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) {
      rej(signal.reason ?? new AbortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      rej(signal!.reason ?? new AbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let bootIdCache: Promise<string | undefined> | undefined;
/** The Linux boot id (`/proc/sys/kernel/random/boot_id`), or `undefined` elsewhere. */
function bootId(): Promise<string | undefined> {
  bootIdCache ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (t) => t.trim() || undefined,
    () => undefined,
  );
  return bootIdCache;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Up to `length` bytes of a file from `start`, as text; `undefined` when the file does not exist. */
async function readRange(path: string, start: number, length: number): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    const n = Math.max(0, Math.min(length, size - start));
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, start);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The last `bytes` bytes of a file (from a line start, with a note when the file is longer). */
async function readTail(path: string, bytes: number): Promise<string | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const start = Math.max(0, size - bytes);
  const text = await readRange(path, start, bytes);
  if (text === undefined || start === 0) return text;
  const nl = text.indexOf('\n');
  return `… (${start + nl + 1} earlier bytes of ${path} left out)\n${text.slice(nl + 1)}`;
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Creates `path` with `data` unless it exists (then returns false); readers never see it half-written. */
async function createExclusive(path: string, data: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, data);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
    // No hard links on this file system: exclusive create, not atomic for readers (they retry).
    try {
      await writeFile(path, data, { flag: 'wx' });
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
  return lines.slice(-n).join(' | ') || '(no output)';
}

/** Runs a command to its end, capturing stdout and stderr (up to 1 MiB); SIGTERM on abort or timeout. */
function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((res, rej) => {
    if (signal?.aborted) {
      rej(signal.reason ?? new AbortError());
      return;
    }
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (b: Buffer) => {
      if (size < 1024 * 1024) chunks.push(b);
      size += b.length;
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      done();
      rej(err);
    });
    child.once('close', (code, sig) => {
      done();
      if (signal?.aborted) rej(signal.reason ?? new AbortError());
      else if (timedOut) rej(new Error(`${command} did not finish within ${timeoutMs} ms`));
      else res({ code: code ?? 128 + (sig ? 15 : 0), output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

/** GETs a URL as text; rejects on a non-2xx answer, on timeout, or with `signal.reason` on abort. */
async function fetchText(url: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<string> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: controller.signal });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
    return text;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A LOCAL STAND-IN for an Apache Livy server, for the `livy` adapter's tests. No Livy server can be installed
 * where these tests run, so this in-process `node:http` server answers the part of Livy's REST API the
 * adapter uses, the way Livy 0.8 (apache/incubator-livy master) answers it:
 *
 * - `GET /batches` and `GET /sessions` (`{ from, total, sessions }`, `from`/`size` query, defaults 0/100);
 *   `POST /batches`, `GET /batches/{id}`, `GET /batches/{id}/state` (`{ id, state }`),
 *   `GET /batches/{id}/log` (`{ id, from, total, log }`, `from`/`size` as `SessionServlet.serializeLogs`:
 *   `size` defaults to 100, `from` to the tail), `DELETE /batches/{id}` (`{ "msg": "deleted" }`, and the batch
 *   is gone: Livy removes a deleted session from its manager, later lookups answer 404);
 * - `POST /sessions`, `GET /sessions/{id}`, `GET /sessions/{id}/state`, `GET /sessions/{id}/log`,
 *   `DELETE /sessions/{id}`, `POST /sessions/{id}/statements`, `GET /sessions/{id}/statements[/{sid}]`,
 *   `POST /sessions/{id}/statements/{sid}/cancel` (`{ "msg": "canceled" }`, spelled as Livy's code spells it);
 * - ids are integers counted from 0; a path id that is not all digits is looked up as a session name (Livy
 *   0.7+); unknown ids answer 404 `{ "msg": "Session '7' not found." }`, an unknown statement 404 with the
 *   JSON string `"Statement not found"`; bodies are checked like Livy's Jackson mapping (an unknown field, a
 *   wrong type or malformed JSON answers 400 with a JSON string, a missing `file` or a duplicate `name` 400
 *   `{ "msg": ... }`); `X-Requested-By` is required on every method but GET/OPTIONS/HEAD when
 *   `csrfProtection` is on (400 with Jetty's HTML error page, as Livy's `CsrfFilter` sends it);
 * - states and their transitions: a batch is `starting`, then `running` with an `appId`, then `success`,
 *   `dead` or (on DELETE) `killed`; a session is `starting`, then `idle`, `busy` while a statement runs,
 *   `idle` again; statements run one at a time (Livy's interpreter has one thread) and go
 *   `waiting` → `running` → `available` (output `status` `ok` or `error` with `ename`/`evalue`/`traceback`),
 *   or `cancelling` → `cancelled`; posting a statement to a session that is not running answers 500 with
 *   `"java.lang.IllegalStateException: Session is in state starting"`, reading one from a session that is
 *   no longer active 400 `requirement failed: Session isn't active.`; finished sessions are forgotten after
 *   `stateRetainMs` (Livy's `livy.server.session.state-retain.sec`).
 *
 * What it does NOT do: it runs no Spark and no Python job. A batch's fate is scripted by its `file` (a file
 * containing `fail` ends `dead`, one containing `sleep` runs until deleted, any other ends `success` after
 * `batchMs`); a statement's by the job file named in the `# sparkpilot job: "<file>"` line the adapter puts
 * at the top of its code (`fail` → an `error` output, `sleep` → runs until cancelled, else an `ok` output).
 * The one real thing it does with a statement is compile it: every statement's code goes through
 * `python3 -c "import ast,sys; ast.parse(sys.stdin.read())"`, and a statement that does not parse ends with
 * the `SyntaxError` output Livy's `fake_shell.py` would give. Log lines, application ids (YARN-style) and
 * `appInfo` URLs are made up. Authentication (Kerberos/LDAP), impersonation checks, `doAs`, recovery after a
 * restart, the `ttl` and heartbeat of sessions, file uploads, `completion`, statement `progress` and the
 * `spark`/`sparkr`/`sql` interpreters are not modelled. Passing against it shows the adapter speaks the
 * documented API; it does not show that a real Livy server behaves the same in every corner.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Livy's `SessionState` values (`org.apache.livy.sessions.SessionState`). */
export type LivyStateName =
  | 'not_started'
  | 'starting'
  | 'recovering'
  | 'idle'
  | 'running'
  | 'busy'
  | 'shutting_down'
  | 'error'
  | 'dead'
  | 'killed'
  | 'success';

/** Livy's `StatementState` values (`org.apache.livy.rsc.driver.StatementState`), plus the documented `error`. */
export type LivyStatementStateName =
  | 'waiting'
  | 'running'
  | 'available'
  | 'error'
  | 'cancelling'
  | 'cancelled';

/** A statement's `output`, as Livy's REPL `Session.executeCode` writes it. */
export type StandInStatementOutput =
  | { status: 'ok'; execution_count: number; data: Record<string, unknown> }
  | { status: 'error'; execution_count: number; ename: string; evalue: string; traceback: string[] };

/** Livy's `appInfo` map. */
export interface StandInAppInfo {
  driverLogUrl: string | null;
  sparkUiUrl: string | null;
}

/** One batch the stand-in holds. Tests may change `state` by hand to see how a client maps it. */
export interface StandInBatch {
  id: number;
  name: string | null;
  /** The request body as received. */
  request: Record<string, unknown>;
  state: LivyStateName;
  appId: string | null;
  appInfo: StandInAppInfo;
  log: string[];
  proxyUser: string | null;
}

/** One statement of a stand-in session. */
export interface StandInStatement {
  id: number;
  code: string;
  /** The `kind` the statement was posted with, if any. */
  kind: string | null;
  state: LivyStatementStateName;
  output: StandInStatementOutput | null;
  progress: number;
  started: number;
  completed: number;
  /** The job file named in the code's `# sparkpilot job:` line, when there is one. */
  jobFile: string | null;
}

/** One interactive session the stand-in holds. */
export interface StandInSession {
  id: number;
  name: string | null;
  kind: string;
  /** The request body as received. */
  request: Record<string, unknown>;
  state: LivyStateName;
  appId: string | null;
  appInfo: StandInAppInfo;
  log: string[];
  proxyUser: string | null;
  statements: StandInStatement[];
}

/** One HTTP request the stand-in received, kept for assertions. */
export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (`undefined` when there was none or it was not JSON). */
  body: unknown;
  /** The status the stand-in answered. */
  status: number;
}

/** A canned answer returned by {@link LivyStandIn.intercept} instead of the stand-in's own. */
export interface InterceptedResponse {
  status: number;
  /** Sent as JSON (a string becomes a JSON string, as Livy sends its error strings). */
  body: unknown;
}

/** Options of {@link startLivyServer}. */
export interface LivyServerOptions {
  /** Require `X-Requested-By` on POST/DELETE, as `livy.server.csrf-protection.enabled=true` does (default true). */
  csrfProtection?: boolean;
  /** ms from a batch's creation to `running` (default 10). */
  batchStartMs?: number;
  /** ms from `running` to the batch's end (default 40). */
  batchMs?: number;
  /** Whether running batches get an `appId` (default true; Livy knows it on YARN and Kubernetes only). */
  batchAppIds?: boolean;
  /** ms from a session's creation to `idle` (default 30). */
  sessionStartMs?: number;
  /** Whether sessions get an `appId` once idle (default true; Livy knows it on YARN and Kubernetes only). */
  sessionAppIds?: boolean;
  /** Where a new session ends up after `sessionStartMs`: `idle` (default), or `dead`/`error` with a log. */
  sessionStartState?: 'idle' | 'dead' | 'error';
  /** ms a statement runs (default 30). */
  statementMs?: number;
  /** ms from `cancelling` to `cancelled` (default 10). */
  cancelMs?: number;
  /** Compile every statement with Python's `ast.parse` (default true). */
  checkPython?: boolean;
  /** The Python used for that (default `python3`). */
  python?: string;
  /** ms a finished batch or session is kept before it is forgotten (default: forever). */
  stateRetainMs?: number;
}

/** A running stand-in: its URL, what it holds and what it was asked. */
export interface LivyStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string;
  batches: Map<number, StandInBatch>;
  sessions: Map<number, StandInSession>;
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** Set to answer some requests with a canned response instead (return `undefined` to let one through). */
  intercept?: (request: { method: string; path: string; body: unknown }) => InterceptedResponse | undefined;
  /** Stop the server and every timer. */
  close(): Promise<void>;
}

const BATCH_FIELDS: Record<string, FieldType> = {
  file: 'string',
  proxyUser: 'string',
  className: 'string',
  args: 'strings',
  jars: 'strings',
  pyFiles: 'strings',
  files: 'strings',
  driverMemory: 'string',
  driverCores: 'int',
  executorMemory: 'string',
  executorCores: 'int',
  numExecutors: 'int',
  archives: 'strings',
  queue: 'string',
  name: 'string',
  conf: 'map',
};
const SESSION_FIELDS: Record<string, FieldType> = {
  ...BATCH_FIELDS,
  kind: 'string',
  heartbeatTimeoutInSecond: 'int',
  ttl: 'string',
};
delete SESSION_FIELDS.file;
delete SESSION_FIELDS.className;
delete SESSION_FIELDS.args;
const STATEMENT_FIELDS: Record<string, FieldType> = { code: 'string', kind: 'string' };
const KINDS = new Set(['spark', 'pyspark', 'sparkr', 'sql', 'shared']);
const INACTIVE = new Set<LivyStateName>(['shutting_down', 'dead', 'killed', 'success']);
const FINISHED = new Set<LivyStateName>(['error', 'dead', 'killed', 'success']);

type FieldType = 'string' | 'int' | 'strings' | 'map';

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly html = false,
  ) {}
}

const msg = (status: number, text: string) => new HttpAnswer(status, { msg: text });
const notFound = (id: string) => msg(404, `Session '${id}' not found.`);

/** Checks a body like Livy's Jackson mapping does; returns the 400 to send, if any. */
function checkBody(body: unknown, fields: Record<string, FieldType>, cls: string): HttpAnswer | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return new HttpAnswer(
      400,
      `Cannot deserialize instance of \`${cls}\` out of ${JSON.stringify(body)} token`,
    );
  }
  for (const [key, value] of Object.entries(body)) {
    const type = fields[key];
    if (!type) {
      return new HttpAnswer(
        400,
        `Unrecognized field "${key}" (class ${cls}), not marked as ignorable (${Object.keys(fields).length} known properties: ${Object.keys(
          fields,
        )
          .map((f) => `"${f}"`)
          .join(', ')}])`,
      );
    }
    if (value === null) continue;
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'int'
          ? Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value))
          : type === 'strings'
            ? Array.isArray(value) && value.every((v) => typeof v === 'string')
            : typeof value === 'object' &&
              !Array.isArray(value) &&
              Object.values(value).every((v) => typeof v === 'string');
    if (!ok) {
      return new HttpAnswer(
        400,
        `Cannot deserialize value of type \`${type}\` from ${JSON.stringify(value)} (through reference chain: ${cls}["${key}"])`,
      );
    }
  }
  return undefined;
}

/** `SessionServlet.serializeLogs`. */
function logSlice(lines: string[], query: Record<string, string>) {
  let size = query.size !== undefined ? Number.parseInt(query.size, 10) : 100;
  let from = query.from !== undefined ? Number.parseInt(query.from, 10) : -1;
  if (size < 0) size = lines.length;
  if (from < 0) from = Math.max(0, lines.length - size);
  return { from, total: lines.length, log: lines.slice(from, from + size) };
}

function pythonCompiles(python: string, code: string): Promise<{ ok: true } | { ok: false; error: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', 'import ast,sys; ast.parse(sys.stdin.read())'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (exitCode) => {
      if (exitCode === 0) resolve({ ok: true });
      else {
        const last = stderr.trim().split('\n').pop() ?? 'SyntaxError';
        resolve({ ok: false, error: last });
      }
    });
    child.stdin.end(code, 'utf8');
  });
}

/**
 * Start a stand-in Livy server on a free port of 127.0.0.1. See the top of this file for what it models and
 * what it does not.
 *
 * @example
 * ```ts
 * const livy = await startLivyServer({ batchMs: 20 });
 * const adapter = livyAdapter({ url: livy.url });
 * // ...
 * await livy.close();
 * ```
 */
export async function startLivyServer(options: LivyServerOptions = {}): Promise<LivyStandIn> {
  const o = {
    csrfProtection: options.csrfProtection ?? true,
    batchStartMs: options.batchStartMs ?? 10,
    batchMs: options.batchMs ?? 40,
    batchAppIds: options.batchAppIds ?? true,
    sessionStartMs: options.sessionStartMs ?? 30,
    sessionStartState: options.sessionStartState ?? 'idle',
    sessionAppIds: options.sessionAppIds ?? true,
    statementMs: options.statementMs ?? 30,
    cancelMs: options.cancelMs ?? 10,
    checkPython: options.checkPython ?? true,
    python: options.python ?? 'python3',
    stateRetainMs: options.stateRetainMs ?? Number.POSITIVE_INFINITY,
  };
  const batches = new Map<number, StandInBatch>();
  const sessions = new Map<number, StandInSession>();
  const requests: RecordedRequest[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const statementTimers = new Map<StandInStatement, ReturnType<typeof setTimeout>>();
  const batchTimers = new Map<StandInBatch, ReturnType<typeof setTimeout>>();
  const clusterTs = 1_717_200_000_000;
  let nextBatchId = 0;
  let nextSessionId = 0;
  let nextApp = 1;
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const stamp = () => new Date().toISOString().replace('T', ' ').slice(2, 19).replaceAll('-', '/');
  const newApp = () => {
    const appId = `application_${clusterTs}_${String(nextApp++).padStart(4, '0')}`;
    return {
      appId,
      appInfo: {
        driverLogUrl: `http://stand-in-nm:8042/node/containerlogs/container_${clusterTs}_${appId.slice(-4)}_01_000001/livy`,
        sparkUiUrl: `http://stand-in-rm:8088/proxy/${appId}/`,
      },
    };
  };
  const forgetLater = (map: Map<number, unknown>, id: number) => {
    if (Number.isFinite(o.stateRetainMs)) later(o.stateRetainMs, () => map.delete(id));
  };

  const batchView = (b: StandInBatch) => ({
    id: b.id,
    name: b.name,
    owner: null,
    proxyUser: b.proxyUser,
    state: b.state,
    appId: b.appId,
    appInfo: b.appInfo,
    log: b.log.slice(-10),
  });
  const sessionView = (s: StandInSession) => ({
    id: s.id,
    name: s.name,
    appId: s.appId,
    owner: null,
    proxyUser: s.proxyUser,
    state: s.state,
    kind: s.kind,
    appInfo: s.appInfo,
    log: s.log.slice(-10),
  });
  const statementView = (st: StandInStatement) => ({
    id: st.id,
    code: st.code,
    state: st.state,
    output: st.output,
    progress: st.progress,
    started: st.started,
    completed: st.completed,
  });

  const find = <T extends { id: number; name: string | null }>(map: Map<number, T>, idOrName: string) => {
    if (/^\d+$/.test(idOrName)) return map.get(Number(idOrName));
    for (const v of map.values()) if (v.name === idOrName) return v;
    return undefined;
  };
  const nameTaken = (map: Map<number, { name: string | null }>, name: unknown) =>
    typeof name === 'string' && [...map.values()].some((v) => v.name === name);

  // --- batches -------------------------------------------------------------------------------------------

  const createBatch = (body: Record<string, unknown>): StandInBatch => {
    const file = String(body.file);
    const b: StandInBatch = {
      id: nextBatchId++,
      name: typeof body.name === 'string' ? body.name : null,
      request: body,
      state: 'starting',
      appId: null,
      appInfo: { driverLogUrl: null, sparkUiUrl: null },
      log: ['stdout: '],
      proxyUser: typeof body.proxyUser === 'string' ? body.proxyUser : null,
    };
    batches.set(b.id, b);
    later(o.batchStartMs, () => {
      if (b.state !== 'starting') return;
      b.state = 'running';
      if (o.batchAppIds) Object.assign(b, newApp());
      b.log.push(
        `${stamp()} INFO Client: Submitting application ${b.appId ?? '(unknown)'} to ResourceManager`,
      );
      if (file.includes('sleep')) return;
      batchTimers.set(
        b,
        later(o.batchMs, () => {
          if (b.state !== 'running') return;
          if (file.includes('fail')) {
            b.log.push(
              `${stamp()} INFO Client: Application report for ${b.appId} (state: FAILED)`,
              'Exception in thread "main" org.apache.spark.SparkException: Application finished with failed status',
              '\nstderr: ',
              '\nYARN Diagnostics: ',
              'User application exited with status 3 (stand-in: scripted failure)',
            );
            b.state = 'dead';
          } else {
            b.log.push(
              `${stamp()} INFO Client: Application report for ${b.appId} (state: FINISHED)`,
              '\t final status: SUCCEEDED',
              '\nstderr: ',
              '\nYARN Diagnostics: ',
            );
            b.state = 'success';
          }
          forgetLater(batches, b.id);
        }),
      );
    });
    return b;
  };

  // --- sessions ------------------------------------------------------------------------------------------

  const createSession = (body: Record<string, unknown>): StandInSession => {
    const s: StandInSession = {
      id: nextSessionId++,
      name: typeof body.name === 'string' ? body.name : null,
      kind: typeof body.kind === 'string' ? body.kind : 'shared',
      request: body,
      state: 'starting',
      appId: null,
      appInfo: { driverLogUrl: null, sparkUiUrl: null },
      log: ['stdout: ', `${stamp()} INFO RSCDriver: Connecting to stand-in Livy server`],
      proxyUser: typeof body.proxyUser === 'string' ? body.proxyUser : null,
      statements: [],
    };
    sessions.set(s.id, s);
    later(o.sessionStartMs, () => {
      if (s.state !== 'starting') return;
      if (o.sessionStartState === 'idle') {
        const app = newApp();
        if (o.sessionAppIds) Object.assign(s, app);
        s.log.push(`${stamp()} INFO SparkContext: Submitted application: ${app.appId}`);
        s.state = 'idle';
      } else {
        s.log.push(
          `${stamp()} ERROR RSCDriver: Failed to start SparkContext`,
          'Exception in thread "main" java.lang.IllegalArgumentException: Required executor memory (99g) is above the max threshold of this cluster (stand-in: scripted start failure)',
          '\nstderr: ',
          '\nYARN Diagnostics: ',
          'Application killed by the stand-in while starting',
        );
        s.state = o.sessionStartState;
        forgetLater(sessions, s.id);
      }
    });
    return s;
  };

  const finishStatement = (s: StandInSession, st: StandInStatement, output: StandInStatementOutput) => {
    st.state = 'available';
    st.output = output;
    st.progress = 1;
    st.completed = Date.now();
    s.log.push(`${stamp()} INFO stand-in: statement ${st.id} ${output.status}`);
    s.state = 'idle';
    pump(s);
  };

  /** Runs the next waiting statement when none runs (Livy's interpreter runs one at a time). */
  const pump = (s: StandInSession) => {
    if (closed || s.state !== 'idle') return;
    if (s.statements.some((st) => st.state === 'running' || st.state === 'cancelling')) return;
    const st = s.statements.find((x) => x.state === 'waiting');
    if (!st) return;
    st.state = 'running';
    st.started = Date.now();
    s.state = 'busy';
    const execution_count = st.id;
    const check = o.checkPython ? pythonCompiles(o.python, st.code) : Promise.resolve({ ok: true as const });
    void check.then(
      (compiled) => {
        if (closed || st.state !== 'running') return;
        if (!compiled.ok) {
          finishStatement(s, st, {
            status: 'error',
            execution_count,
            ename: 'SyntaxError',
            evalue: compiled.error,
            traceback: [],
          });
          return;
        }
        const file = st.jobFile ?? '';
        if (file.includes('sleep')) return;
        statementTimers.set(
          st,
          later(o.statementMs, () => {
            if (st.state !== 'running') return;
            if (file.includes('fail')) {
              finishStatement(s, st, {
                status: 'error',
                execution_count,
                ename: 'RuntimeError',
                evalue: `job failed as scripted by the stand-in: ${file}`,
                traceback: [
                  'Traceback (most recent call last):\n',
                  `  File "${file}", line 3, in run\n`,
                  `RuntimeError: job failed as scripted by the stand-in: ${file}\n`,
                ],
              });
            } else {
              finishStatement(s, st, {
                status: 'ok',
                execution_count,
                data: { 'text/plain': `stand-in ran ${file || 'the code'}` },
              });
            }
          }),
        );
      },
      (err: unknown) => {
        finishStatement(s, st, {
          status: 'error',
          execution_count,
          ename: 'InternalError',
          evalue: `stand-in could not run ${o.python}: ${String(err)}`,
          traceback: [],
        });
      },
    );
  };

  const jobFileOf = (code: string): string | null => {
    const m = /^# sparkpilot job: (.*)$/m.exec(code);
    if (!m) return null;
    try {
      const v = JSON.parse(m[1]!) as unknown;
      return typeof v === 'string' ? v : null;
    } catch {
      return null;
    }
  };

  // --- routing -------------------------------------------------------------------------------------------

  const route = (
    method: string,
    parts: string[],
    query: Record<string, string>,
    body: unknown,
  ): HttpAnswer => {
    const [collection, idParam, sub, subId, action] = parts;
    if (collection !== 'batches' && collection !== 'sessions')
      return msg(404, 'Requested resource not found');
    const isBatch = collection === 'batches';
    const map: Map<number, StandInBatch | StandInSession> = isBatch ? batches : sessions;
    const view = (x: StandInBatch | StandInSession) =>
      isBatch ? batchView(x as StandInBatch) : sessionView(x as StandInSession);

    if (idParam === undefined) {
      if (method === 'GET') {
        const from = query.from !== undefined ? Number.parseInt(query.from, 10) : 0;
        const size = query.size !== undefined ? Number.parseInt(query.size, 10) : 100;
        return new HttpAnswer(200, {
          from,
          total: map.size,
          sessions: [...map.values()].slice(from, from + size).map(view),
        });
      }
      if (method === 'POST') {
        const bad = checkBody(
          body,
          isBatch ? BATCH_FIELDS : SESSION_FIELDS,
          isBatch
            ? 'org.apache.livy.server.batch.CreateBatchRequest'
            : 'org.apache.livy.server.interactive.CreateInteractiveRequest',
        );
        if (bad) return bad;
        const b = body as Record<string, unknown>;
        if (isBatch && typeof b.file !== 'string') {
          return msg(400, 'Rejected, Reason: requirement failed: File is required.');
        }
        if (!isBatch && b.kind != null && !KINDS.has(String(b.kind))) {
          return new HttpAnswer(400, `Invalid kind: ${String(b.kind)} (through reference chain: kind)`);
        }
        if (nameTaken(map, b.name)) {
          return msg(400, `Rejected, Reason: Duplicate session name: Some(${String(b.name)})`);
        }
        const created = isBatch ? createBatch(b) : createSession(b);
        return new HttpAnswer(201, view(created));
      }
      return new HttpAnswer(405, `HTTP method ${method} is not supported by this URL`);
    }

    const item = find(map, idParam);
    if (!item) return notFound(idParam);

    if (sub === undefined) {
      if (method === 'GET') return new HttpAnswer(200, view(item));
      if (method === 'DELETE') {
        if (isBatch) {
          const b = item as StandInBatch;
          const t = batchTimers.get(b);
          if (t) clearTimeout(t);
          if (!FINISHED.has(b.state)) {
            b.log.push(`${stamp()} INFO stand-in: killed by DELETE`);
            b.state = 'killed';
          }
        } else {
          const s = item as StandInSession;
          for (const st of s.statements) {
            const t = statementTimers.get(st);
            if (t) clearTimeout(t);
          }
          s.state = 'dead';
        }
        map.delete(item.id);
        return msg(200, 'deleted');
      }
      return new HttpAnswer(405, `HTTP method ${method} is not supported by this URL`);
    }
    if (sub === 'state' && method === 'GET') return new HttpAnswer(200, { id: item.id, state: item.state });
    if (sub === 'log' && method === 'GET')
      return new HttpAnswer(200, { id: item.id, ...logSlice(item.log, query) });

    if (!isBatch && sub === 'statements') {
      const s = item as StandInSession;
      if (subId === undefined && method === 'POST') {
        const bad = checkBody(body, STATEMENT_FIELDS, 'org.apache.livy.ExecuteRequest');
        if (bad) return bad;
        const b = body as { code?: unknown; kind?: unknown };
        if (typeof b.code !== 'string') return msg(400, 'requirement failed: code is required');
        if (s.state !== 'idle' && s.state !== 'busy') {
          return new HttpAnswer(500, `java.lang.IllegalStateException: Session is in state ${s.state}`);
        }
        const st: StandInStatement = {
          id: s.statements.length,
          code: b.code,
          kind: typeof b.kind === 'string' ? b.kind : null,
          state: 'waiting',
          output: null,
          progress: 0,
          started: 0,
          completed: 0,
          jobFile: jobFileOf(b.code),
        };
        s.statements.push(st);
        pump(s);
        return new HttpAnswer(201, statementView(st));
      }
      if (INACTIVE.has(s.state)) return msg(400, "requirement failed: Session isn't active.");
      if (subId === undefined && method === 'GET') {
        return new HttpAnswer(200, {
          total_statements: s.statements.length,
          statements: s.statements.map(statementView),
        });
      }
      const st = /^\d+$/.test(subId ?? '') ? s.statements[Number(subId)] : undefined;
      if (action === undefined && method === 'GET') {
        return st ? new HttpAnswer(200, statementView(st)) : new HttpAnswer(404, 'Statement not found');
      }
      if (action === 'cancel' && method === 'POST') {
        if (s.state !== 'idle' && s.state !== 'busy') {
          return new HttpAnswer(500, `java.lang.IllegalStateException: Session is in state ${s.state}`);
        }
        if (st?.state === 'waiting') st.state = 'cancelled';
        else if (st?.state === 'running') {
          st.state = 'cancelling';
          const t = statementTimers.get(st);
          if (t) clearTimeout(t);
          later(o.cancelMs, () => {
            st.state = 'cancelled';
            st.progress = 1;
            st.completed = Date.now();
            s.log.push(`${stamp()} INFO stand-in: statement ${st.id} cancelled`);
            s.state = 'idle';
            pump(s);
          });
        }
        return new HttpAnswer(200, { msg: 'canceled' });
      }
    }
    return msg(404, 'Requested resource not found');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const method = req.method ?? 'GET';
      const text = Buffer.concat(chunks).toString('utf8');
      const query = Object.fromEntries(url.searchParams);
      let body: unknown;
      let malformed = false;
      if (text.length > 0) {
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          malformed = true;
        }
      }
      let answer: HttpAnswer;
      const intercepted = standIn.intercept?.({ method, path: url.pathname, body });
      if (intercepted) {
        answer = new HttpAnswer(intercepted.status, intercepted.body);
      } else if (
        o.csrfProtection &&
        !['GET', 'OPTIONS', 'HEAD'].includes(method) &&
        req.headers['x-requested-by'] === undefined
      ) {
        const reason = 'Missing Required Header for CSRF protection.';
        answer = new HttpAnswer(
          400,
          `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n<title>Error 400 ${reason}</title>\n</head>\n<body><h2>HTTP ERROR 400</h2>\n<p>Problem accessing ${url.pathname}. Reason:\n<pre>    ${reason}</pre></p>\n</body>\n</html>\n`,
          true,
        );
      } else if (malformed) {
        answer = new HttpAnswer(
          400,
          `Unexpected character: was expecting double-quote to start field name\n at [Source: (org.eclipse.jetty.server.HttpInputOverHTTP); line: 1, column: 2]`,
        );
      } else {
        const parts = url.pathname.split('/').filter((p) => p.length > 0);
        answer = route(method, parts, query, body);
      }
      requests.push({ method, path: url.pathname, query, headers: req.headers, body, status: answer.status });
      if (answer.html) {
        res.writeHead(answer.status, { 'Content-Type': 'text/html;charset=iso-8859-1' });
        res.end(String(answer.body));
        return;
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/json;charset=utf-8' };
      if (answer.status === 201) {
        const created = answer.body as { id: number };
        headers.Location = `${url.pathname.replace(/\/$/, '')}/${created.id}`;
      }
      res.writeHead(answer.status, headers);
      res.end(JSON.stringify(answer.body));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const standIn: LivyStandIn = {
    url: `http://127.0.0.1:${port}`,
    batches,
    sessions,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}

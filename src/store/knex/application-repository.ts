/**
 * The default {@link ApplicationRepository}: stores attempts through the host's Knex instance, in
 * transactions, on SQLite, PostgreSQL and MySQL/MariaDB.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { StoreError, throwIfAborted } from '../../errors.js';
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type {
  ApplicationQuery,
  ApplicationRepository,
  ApplicationSort,
  ApplicationSummary,
  AttemptStatus,
  Page,
  SaveOptions,
  SaveResult,
} from '../repository.js';
import { summarize } from '../summary.js';
import { type TableNames, tableNames } from './tables.js';
import { isUniqueViolation } from './unique.js';

type Row = Record<string, unknown>;

const SORT_COLUMNS: Record<ApplicationSort, string> = {
  startTime: 'start_time',
  endTime: 'end_time',
  duration: 'duration',
  name: 'name',
};

const SUMMARY_COLUMNS = [
  'id',
  'app_id',
  'attempt_id',
  'name',
  'job_key',
  'spark_user',
  'spark_version',
  'status',
  'start_time',
  'end_time',
  'duration',
  'queue',
  'cluster',
  'tags',
  'num_jobs',
  'num_failed_jobs',
  'num_stages',
  'num_tasks',
  'num_failed_tasks',
  'executor_run_time',
  'input_bytes',
  'shuffle_read_bytes',
  'shuffle_write_bytes',
  'memory_bytes_spilled',
  'disk_bytes_spilled',
];

const n = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** PostgreSQL text cannot hold NUL; no stored value contains one (they are removed on save). */
const NUL = String.fromCharCode(0);
const hasNul = (v: unknown): boolean => typeof v === 'string' && v.includes(NUL);
const clean = (v: string, max: number): string => v.replaceAll(NUL, '').slice(0, max);

function toSummary(r: Row): ApplicationSummary {
  return {
    appId: String(r.app_id),
    attemptId: String(r.attempt_id),
    name: String(r.name),
    jobKey: String(r.job_key),
    sparkUser: String(r.spark_user),
    sparkVersion: String(r.spark_version),
    status: r.status as AttemptStatus,
    startTime: n(r.start_time),
    endTime: n(r.end_time),
    duration: n(r.duration),
    queue: String(r.queue),
    cluster: String(r.cluster),
    tags: String(r.tags) ? String(r.tags).split('\n') : [],
    numJobs: n(r.num_jobs),
    numFailedJobs: n(r.num_failed_jobs),
    numStages: n(r.num_stages),
    numTasks: n(r.num_tasks),
    numFailedTasks: n(r.num_failed_tasks),
    executorRunTime: n(r.executor_run_time),
    inputBytes: n(r.input_bytes),
    shuffleReadBytes: n(r.shuffle_read_bytes),
    shuffleWriteBytes: n(r.shuffle_write_bytes),
    memoryBytesSpilled: n(r.memory_bytes_spilled),
    diskBytesSpilled: n(r.disk_bytes_spilled),
  };
}

/** Rows of the child tables of one attempt, without the attempt's key (filled in once it is known). */
interface ChildRows {
  jobs: Row[];
  stages: Row[];
  executors: Row[];
  sqlExecutions: Row[];
  failures: Row[];
  tags: Row[];
}

/** The child rows of an attempt, each model part serialized once (the hash reads the same strings). */
function childRows(m: ApplicationAttemptModel, tags: string[]): ChildRows {
  return {
    jobs: m.jobs.map((j) => ({ job_id: j.jobId, status: j.status, data: JSON.stringify(j) })),
    stages: m.stages.map((s) => ({
      stage_id: s.stageId,
      stage_attempt_id: s.attemptId,
      status: s.status,
      executor_run_time: s.executorRunTime,
      data: JSON.stringify(s),
    })),
    executors: m.executors.map((e) => ({ executor_id: clean(e.id, 255), data: JSON.stringify(e) })),
    sqlExecutions: m.sql.map((q) => ({ execution_id: q.id, status: q.status, data: JSON.stringify(q) })),
    failures: m.failures.map((f, seq) => ({
      seq,
      reason: clean(f.reason, 64),
      class_name: f.className === null ? null : clean(f.className, 512),
      count: f.count,
      data: JSON.stringify(f),
    })),
    tags: [...new Set(tags.map((tag) => clean(tag, 255)))].filter((tag) => tag).map((tag) => ({ tag })),
  };
}

/**
 * A stable hash of what an attempt says (not where it was read from: sources and warnings are left out),
 * over the serialized parts that are stored.
 */
function contentHash(row: Row, m: ApplicationAttemptModel, children: ChildRows): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([m.appId, m.attemptId ?? null, m.sparkContextId ?? null, m.exitCode ?? null]));
  h.update(JSON.stringify(m.stats));
  for (const part of [row.application, row.environment, row.tags] as string[]) h.update(`\n${part}`);
  for (const rows of Object.values(children) as Row[][]) {
    h.update('\n#');
    for (const r of rows) h.update(`\n${String(r.data ?? r.tag)}`);
  }
  return h.digest('hex');
}

interface Cursor {
  v: number | string;
  id: number;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.v, c.id])).toString('base64url');
}

function decodeCursor(s: string): Cursor {
  try {
    const [v, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as [unknown, unknown];
    if ((typeof v === 'number' || typeof v === 'string') && typeof id === 'number' && Number.isInteger(id)) {
      return { v, id };
    }
  } catch {
    // fall through
  }
  throw new StoreError(
    'SPARKPILOT_STORE_BAD_CURSOR',
    `Invalid cursor ${JSON.stringify(s.slice(0, 80))}. Pass the nextCursor of the previous page unchanged.`,
  );
}

/** Options of {@link KnexApplicationRepository}. */
export interface KnexRepositoryOptions {
  /** Prefix of every table (default `sparkpilot_`). */
  tablePrefix?: string;
}

/** A name prefix shared by this many attempts is scanned through the sort column's index on SQLite. */
const COMMON_PREFIX_ROWS = 2000;

/** Rows per insert statement: keeps every dialect under its bound-parameter limit. */
const BATCH = 200;

/**
 * Stores application attempts through Knex. Create it with the host's Knex instance after `migrate`.
 */
export class KnexApplicationRepository implements ApplicationRepository {
  private readonly t: TableNames;
  private readonly sqlite: boolean;

  constructor(
    private readonly knex: Knex,
    options: KnexRepositoryOptions = {},
  ) {
    this.t = tableNames(options.tablePrefix ?? 'sparkpilot_');
    this.sqlite = /sqlite/.test(String((knex.client as { dialect?: string }).dialect));
  }

  async save(model: ApplicationAttemptModel, options: SaveOptions = {}): Promise<SaveResult> {
    throwIfAborted(options.signal);
    const summary = summarize(model, options.tags);
    const children = childRows(model, summary.tags);
    const t = this.t;
    const base = { appId: summary.appId, attemptId: summary.attemptId };
    const row: Row = {
      app_id: clean(summary.appId, 255),
      attempt_id: clean(summary.attemptId, 64),
      name: clean(summary.name, 512),
      job_key: clean(summary.jobKey, 255),
      spark_user: clean(summary.sparkUser, 255),
      spark_version: clean(summary.sparkVersion, 64),
      status: summary.status,
      start_time: summary.startTime,
      end_time: summary.endTime,
      duration: summary.duration,
      queue: clean(summary.queue, 255),
      cluster: clean(summary.cluster, 255),
      num_jobs: summary.numJobs,
      num_failed_jobs: summary.numFailedJobs,
      num_stages: summary.numStages,
      num_tasks: summary.numTasks,
      num_failed_tasks: summary.numFailedTasks,
      executor_run_time: summary.executorRunTime,
      input_bytes: summary.inputBytes,
      shuffle_read_bytes: summary.shuffleReadBytes,
      shuffle_write_bytes: summary.shuffleWriteBytes,
      memory_bytes_spilled: summary.memoryBytesSpilled,
      disk_bytes_spilled: summary.diskBytesSpilled,
      tags: clean(summary.tags.join('\n'), 2048),
      content_hash: '',
      application: JSON.stringify(model.application),
      environment: JSON.stringify(model.environment),
      extra: JSON.stringify({
        sources: model.sources,
        stats: model.stats,
        warnings: model.warnings,
        ...(model.sparkContextId !== undefined ? { sparkContextId: model.sparkContextId } : {}),
        ...(model.exitCode !== undefined ? { exitCode: model.exitCode } : {}),
      }),
      stored_at: Date.now(),
    };
    const hash = contentHash(row, model, children);
    row.content_hash = hash;
    const attempt = async (): Promise<SaveResult> =>
      this.knex.transaction(async (trx) => {
        const existing = (await trx(t.attempts)
          .where({ app_id: row.app_id as string, attempt_id: row.attempt_id as string })
          .first('id', 'content_hash')) as { id: number | string; content_hash: string } | undefined;
        if (existing && existing.content_hash === hash) return { ...base, outcome: 'unchanged' as const };
        let pk: number;
        if (existing) {
          pk = n(existing.id);
          await this.deleteChildren(trx, [pk]);
          await trx(t.attempts).where({ id: pk }).update(row);
        } else {
          const inserted = (await trx(t.attempts).insert(row, ['id'])) as (number | { id: number })[];
          const first = inserted[0];
          pk = n(typeof first === 'object' ? first.id : first);
        }
        throwIfAborted(options.signal);
        await this.insertChildren(trx, pk, children);
        return { ...base, outcome: existing ? ('updated' as const) : ('new' as const) };
      });
    const wrap = (err: unknown) =>
      new StoreError(
        'SPARKPILOT_STORE_WRITE',
        `Could not store ${summary.appId}${summary.attemptId ? ` attempt ${summary.attemptId}` : ''}: ${(err as Error).message}. Nothing was written for it; check the database and run the ingest again.`,
        { cause: err },
      );
    try {
      return await attempt();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      // Two writers raced to insert the same new attempt: the loser retries once, as an update.
      if (isUniqueViolation(err, t.attempts)) {
        try {
          return await attempt();
        } catch (again) {
          throw wrap(again);
        }
      }
      throw wrap(err);
    }
  }

  private async insertChildren(trx: Knex.Transaction, pk: number, children: ChildRows) {
    const t = this.t;
    const tables: [string, Row[]][] = [
      [t.jobs, children.jobs],
      [t.stages, children.stages],
      [t.executors, children.executors],
      [t.sqlExecutions, children.sqlExecutions],
      [t.failures, children.failures],
      [t.tags, children.tags],
    ];
    for (const [table, rows] of tables) {
      for (let i = 0; i < rows.length; i += BATCH) {
        await trx(table).insert(rows.slice(i, i + BATCH).map((r) => ({ attempt_pk: pk, ...r })));
      }
    }
  }

  private async deleteChildren(trx: Knex.Transaction | Knex, pks: number[]): Promise<void> {
    const t = this.t;
    // The feature vector goes too: it was computed from the content being replaced (or removed).
    for (const table of [t.jobs, t.stages, t.executors, t.sqlExecutions, t.failures, t.tags, t.features]) {
      await trx(table).whereIn('attempt_pk', pks).delete();
    }
  }

  async get(appId: string, attemptId?: string): Promise<ApplicationAttemptModel | undefined> {
    if (hasNul(appId) || hasNul(attemptId)) return undefined;
    const t = this.t;
    const q = this.knex(t.attempts).where({ app_id: appId });
    const row = (await (attemptId !== undefined
      ? q.andWhere({ attempt_id: attemptId }).first()
      : q
          .orderBy([
            { column: 'start_time', order: 'desc' },
            { column: 'id', order: 'desc' },
          ])
          .first())) as Row | undefined;
    if (!row) return undefined;
    const pk = n(row.id);
    const [jobs, stages, executors, sql, failures] = await Promise.all([
      this.knex(t.jobs).where({ attempt_pk: pk }).orderBy('job_id', 'desc').select('data'),
      this.knex(t.stages)
        .where({ attempt_pk: pk })
        .orderBy([
          { column: 'stage_id', order: 'desc' },
          { column: 'stage_attempt_id', order: 'desc' },
        ])
        .select('data'),
      this.knex(t.executors).where({ attempt_pk: pk }).orderBy('executor_id').select('data'),
      this.knex(t.sqlExecutions).where({ attempt_pk: pk }).orderBy('execution_id').select('data'),
      this.knex(t.failures).where({ attempt_pk: pk }).orderBy('seq').select('data'),
    ]);
    const parse = (rows: Row[]) => rows.map((r) => JSON.parse(String(r.data)));
    const extra = JSON.parse(String(row.extra));
    const model: ApplicationAttemptModel = {
      appId: String(row.app_id),
      application: JSON.parse(String(row.application)),
      jobs: parse(jobs),
      stages: parse(stages),
      executors: parse(executors),
      environment: JSON.parse(String(row.environment)),
      sql: parse(sql),
      failures: parse(failures),
      sources: extra.sources,
      stats: extra.stats,
      warnings: extra.warnings,
    };
    if (String(row.attempt_id)) model.attemptId = String(row.attempt_id);
    if (extra.sparkContextId !== undefined) model.sparkContextId = extra.sparkContextId;
    if (extra.exitCode !== undefined) model.exitCode = extra.exitCode;
    return orderKeys(model);
  }

  async attempts(appId: string): Promise<ApplicationSummary[]> {
    if (hasNul(appId)) return [];
    const rows = (await this.knex(this.t.attempts)
      .where({ app_id: appId })
      .orderBy([
        { column: 'start_time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .select(SUMMARY_COLUMNS)) as Row[];
    return rows.map(toSummary);
  }

  async list(query: ApplicationQuery = {}): Promise<Page<ApplicationSummary>> {
    const t = this.t;
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new StoreError(
        'SPARKPILOT_STORE_BAD_QUERY',
        `limit must be a whole number from 1 to 1000, got ${JSON.stringify(query.limit)}.`,
      );
    }
    const sort = query.sort ?? 'startTime';
    const column = SORT_COLUMNS[sort];
    if (!column) {
      throw new StoreError(
        'SPARKPILOT_STORE_BAD_QUERY',
        `sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')}, got ${JSON.stringify(sort)}.`,
      );
    }
    const desc = (query.order ?? 'desc') === 'desc';
    const filterValues = Object.values(query).flat();
    if (filterValues.some(hasNul)) {
      if (query.cursor !== undefined) decodeCursor(query.cursor);
      return { items: [] };
    }
    const q = this.knex(`${t.attempts} as a`).select(SUMMARY_COLUMNS.map((c) => `a.${c}`));
    const eq: [keyof ApplicationQuery, string][] = [
      ['appId', 'app_id'],
      ['name', 'name'],
      ['jobKey', 'job_key'],
      ['sparkUser', 'spark_user'],
      ['queue', 'queue'],
      ['cluster', 'cluster'],
      ['sparkVersion', 'spark_version'],
    ];
    for (const [key, col] of eq) {
      const v = query[key];
      if (v !== undefined) q.where(`a.${col}`, String(v));
    }
    if (query.namePrefix !== undefined) {
      // Names compare by code point on every dialect (binary collations), so the names that start with
      // the prefix are a range of the name index: [prefix, successor). substr keeps the match exact.
      const prefix = query.namePrefix;
      const upper = prefixSuccessor(prefix);
      // SQLite keeps no statistics of value ranges (no STAT4), so it takes the name index for any prefix,
      // and a common prefix then sorts most of the table. When the prefix is common and the order is not
      // by name, a unary + keeps the range off the index and the sort column's index finds the page.
      const name =
        sort !== 'name' && this.sqlite && (await this.commonPrefix(prefix, upper)) ? '+a.name' : 'a.name';
      q.whereRaw(`${name} >= ?`, [prefix]);
      if (upper !== undefined) q.whereRaw(`${name} < ?`, [upper]);
      q.whereRaw('substr(a.name, 1, ?) = ?', [[...prefix].length, prefix]);
    }
    if (query.status !== undefined) {
      q.whereIn('a.status', Array.isArray(query.status) ? query.status : [query.status]);
    }
    if (query.startedAfter !== undefined) q.where('a.start_time', '>=', query.startedAfter);
    if (query.startedBefore !== undefined) q.where('a.start_time', '<', query.startedBefore);
    if (query.minDuration !== undefined) q.where('a.duration', '>=', query.minDuration);
    if (query.maxDuration !== undefined) q.where('a.duration', '<=', query.maxDuration);
    for (const tag of query.tags ?? []) {
      q.whereExists((sub) => {
        sub
          .select(this.knex.raw('1'))
          .from(t.tags)
          .whereRaw('attempt_pk = a.id')
          .andWhere('tag', String(tag));
      });
    }
    if (query.cursor !== undefined) {
      const c = decodeCursor(query.cursor);
      const op = desc ? '<' : '>';
      q.where((w) => {
        w.where(`a.${column}`, op, c.v).orWhere((x) =>
          x.where(`a.${column}`, c.v).andWhere('a.id', op, c.id),
        );
      });
    }
    q.orderBy([
      { column: `a.${column}`, order: desc ? 'desc' : 'asc' },
      { column: 'a.id', order: desc ? 'desc' : 'asc' },
    ]).limit(limit + 1);
    const rows = (await q) as Row[];
    const page = rows.slice(0, limit);
    const result: Page<ApplicationSummary> = { items: page.map(toSummary) };
    if (rows.length > limit) {
      const last = page[page.length - 1]!;
      const v = last[column];
      result.nextCursor = encodeCursor({ v: column === 'name' ? String(v) : n(v), id: n(last.id) });
    }
    return result;
  }

  /** Whether at least {@link COMMON_PREFIX_ROWS} names start with `prefix` (read from the name index only). */
  private async commonPrefix(prefix: string, upper: string | undefined): Promise<boolean> {
    const q = this.knex(this.t.attempts).where('name', '>=', prefix);
    if (upper !== undefined) q.where('name', '<', upper);
    const rows = (await q.select('name').limit(COMMON_PREFIX_ROWS)) as Row[];
    return rows.length >= COMMON_PREFIX_ROWS;
  }

  async remove(appId: string, attemptId?: string): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const q = trx(this.t.attempts).where({ app_id: appId });
      if (attemptId !== undefined) q.andWhere({ attempt_id: attemptId });
      const pks = ((await q.clone().select('id')) as Row[]).map((r) => n(r.id));
      if (pks.length === 0) return 0;
      await this.deleteChildren(trx, pks);
      await trx(this.t.attempts).whereIn('id', pks).delete();
      return pks.length;
    });
  }
}

/**
 * The least string above every string that starts with `prefix`, in code-point order: the prefix with its
 * last code point incremented (dropping trailing U+10FFFF), skipping the surrogate range; `undefined` when
 * no such string exists.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const cps = [...prefix].map((c) => c.codePointAt(0)!);
  while (cps.length > 0 && cps[cps.length - 1] === 0x10ffff) cps.pop();
  if (cps.length === 0) return undefined;
  const last = cps.pop()! + 1;
  cps.push(last === 0xd800 ? 0xe000 : last);
  return String.fromCodePoint(...cps);
}

/** Keys in the order the collector writes them, so a stored model equals the collected one. */
function orderKeys(m: ApplicationAttemptModel): ApplicationAttemptModel {
  const out: Partial<ApplicationAttemptModel> = { appId: m.appId };
  if (m.attemptId !== undefined) out.attemptId = m.attemptId;
  Object.assign(out, {
    application: m.application,
    jobs: m.jobs,
    stages: m.stages,
    executors: m.executors,
    environment: m.environment,
    sql: m.sql,
    failures: m.failures,
  });
  if (m.sparkContextId !== undefined) out.sparkContextId = m.sparkContextId;
  if (m.exitCode !== undefined) out.exitCode = m.exitCode;
  Object.assign(out, { sources: m.sources, stats: m.stats, warnings: m.warnings });
  return out as ApplicationAttemptModel;
}

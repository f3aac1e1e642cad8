/**
 * The default {@link ApplicationRepository}: stores attempts through the host's Knex instance, in
 * transactions, on SQLite, PostgreSQL and MySQL/MariaDB.
 * @module
 */
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
import { type ChildRows, type PreparedAttempt as Prepared, prepareAttempt, type Row } from './rows.js';
import { type TableNames, tableNames } from './tables.js';
import { isUniqueViolation } from './unique.js';

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
  private readonly insertSqlCache = new Map<string, string>();

  constructor(
    private readonly knex: Knex,
    options: KnexRepositoryOptions = {},
  ) {
    this.t = tableNames(options.tablePrefix ?? 'sparkpilot_');
    this.sqlite = /sqlite/.test(String((knex.client as { dialect?: string }).dialect));
  }

  /**
   * Writes prepared attempts in the transaction `trx`: looks up which are stored already (one query), and
   * writes the child rows of all of them together, in batches per table.
   */
  private async write(
    trx: Knex.Transaction,
    batch: readonly Prepared[],
    signal?: AbortSignal,
  ): Promise<SaveResult[]> {
    const t = this.t;
    const found = (await trx(t.attempts)
      .whereIn('app_id', [...new Set(batch.map((p) => p.row.app_id as string))])
      .select('id', 'app_id', 'attempt_id', 'content_hash')) as {
      id: number | string;
      app_id: string;
      attempt_id: string;
      content_hash: string;
    }[];
    const stored = new Map(found.map((r) => [`${r.app_id}\n${r.attempt_id}`, r]));
    const results: SaveResult[] = [];
    const toWrite: { p: Prepared; pk?: number }[] = [];
    for (const p of batch) {
      const existing = stored.get(`${p.row.app_id as string}\n${p.row.attempt_id as string}`);
      if (existing && existing.content_hash === p.row.content_hash) {
        results.push({ ...p.base, outcome: 'unchanged' });
      } else if (existing) {
        toWrite.push({ p, pk: n(existing.id) });
        results.push({ ...p.base, outcome: 'updated' });
      } else {
        toWrite.push({ p });
        results.push({ ...p.base, outcome: 'new' });
      }
    }
    const replaced = toWrite.flatMap((w) => (w.pk === undefined ? [] : [w.pk]));
    if (replaced.length) await this.deleteChildren(trx, replaced);
    const storedAt = Date.now();
    const children: ChildRows = {
      jobs: [],
      stages: [],
      executors: [],
      sqlExecutions: [],
      failures: [],
      tags: [],
    };
    for (const w of toWrite) {
      let pk = w.pk;
      if (pk !== undefined) {
        await trx(t.attempts)
          .where({ id: pk })
          .update({ ...w.p.row, stored_at: storedAt });
      } else {
        const inserted = (await trx(t.attempts).insert({ ...w.p.row, stored_at: storedAt }, ['id'])) as (
          | number
          | { id: number }
        )[];
        const first = inserted[0];
        pk = n(typeof first === 'object' ? first.id : first);
      }
      for (const [table, rows] of Object.entries(w.p.children) as [keyof ChildRows, Row[]][]) {
        for (const r of rows) children[table].push({ attempt_pk: pk, ...r });
      }
    }
    throwIfAborted(signal);
    await this.insertChildren(trx, children);
    return results;
  }

  async save(model: ApplicationAttemptModel, options: SaveOptions = {}): Promise<SaveResult> {
    const [result] = await this.saveMany([model], options);
    return result!;
  }

  /**
   * Store several attempts in one transaction: the way to store many (an ingest does), with a few
   * statements for all of them instead of a few for each. Each attempt is stored as by
   * {@link KnexApplicationRepository.save}; results come in the order of `models`. When the batch cannot be
   * stored as one (two writers raced, or one attempt cannot be written), the attempts are stored one at
   * a time: the others are kept, and the error thrown names the attempt it is about.
   */
  async saveMany(
    models: readonly ApplicationAttemptModel[],
    options: SaveOptions = {},
  ): Promise<SaveResult[]> {
    throwIfAborted(options.signal);
    return this.savePrepared(
      models.map((m) => prepareAttempt(m, options.tags)),
      options.signal,
    );
  }

  /**
   * {@link KnexApplicationRepository.saveMany} of attempts already turned into rows (an ingest's worker
   * threads do that).
   * @internal
   */
  async savePrepared(prepared: readonly Prepared[], signal?: AbortSignal): Promise<SaveResult[]> {
    throwIfAborted(signal);
    const keys = new Set(prepared.map((p) => `${p.row.app_id as string}\n${p.row.attempt_id as string}`));
    if (prepared.length > 1 && keys.size === prepared.length) {
      try {
        return await this.knex.transaction((trx) => this.write(trx, prepared, signal));
      } catch {
        if (signal?.aborted) throw signal.reason;
        // Nothing of the batch was written: store them one at a time below.
      }
    }
    // One at a time: an attempt that cannot be written does not keep the others out, and its error
    // (the first, when several fail) is thrown once the others are stored.
    const results: SaveResult[] = [];
    let failure: { error: unknown } | undefined;
    for (const p of prepared) {
      try {
        results.push(await this.saveOne(p, signal));
      } catch (error) {
        if (signal?.aborted) throw error;
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
    return results;
  }

  private async saveOne(p: Prepared, signal?: AbortSignal): Promise<SaveResult> {
    const attempt = async () => {
      const [result] = await this.knex.transaction((trx) => this.write(trx, [p], signal));
      return result!;
    };
    const { appId, attemptId } = p.base;
    const wrap = (err: unknown) =>
      new StoreError(
        'SPARKPILOT_STORE_WRITE',
        `Could not store ${appId}${attemptId ? ` attempt ${attemptId}` : ''}: ${(err as Error).message}. Nothing was written for it; check the database and run the ingest again.`,
        { cause: err },
      );
    try {
      return await attempt();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // Two writers raced to insert the same new attempt: the loser retries once, as an update.
      if (isUniqueViolation(err, this.t.attempts)) {
        try {
          return await attempt();
        } catch (again) {
          throw wrap(again);
        }
      }
      throw wrap(err);
    }
  }

  private async insertChildren(trx: Knex.Transaction, children: ChildRows) {
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
      if (rows.length === 0) continue;
      const columns = Object.keys(rows[0]!);
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH);
        const values: Knex.RawBinding[] = [];
        for (const r of batch) for (const c of columns) values.push((r[c] ?? null) as Knex.RawBinding);
        await trx.raw(this.insertSql(table, columns, batch.length), values);
      }
    }
  }

  /**
   * `insert into <table> (<columns>) values (?, ...), ...` for `rows` rows: the child rows of an attempt all
   * have the same columns, and a plain statement spares the query builder's per-row work (an ingest writes
   * thousands of rows).
   */
  private insertSql(table: string, columns: string[], rows: number): string {
    const key = `${table}\n${columns.join(',')}\n${rows}`;
    let sql = this.insertSqlCache.get(key);
    if (sql === undefined) {
      const id = (name: string) => this.knex.client.wrapIdentifier(name, undefined);
      const row = `(${columns.map(() => '?').join(', ')})`;
      sql = `insert into ${id(table)} (${columns.map(id).join(', ')}) values ${Array(rows).fill(row).join(', ')}`;
      if (this.insertSqlCache.size > 256) this.insertSqlCache.clear();
      this.insertSqlCache.set(key, sql);
    }
    return sql;
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
    if (extra.sparkVersion !== undefined) model.sparkVersion = extra.sparkVersion;
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
  if (m.sparkVersion !== undefined) out.sparkVersion = m.sparkVersion;
  if (m.exitCode !== undefined) out.exitCode = m.exitCode;
  Object.assign(out, { sources: m.sources, stats: m.stats, warnings: m.warnings });
  return out as ApplicationAttemptModel;
}

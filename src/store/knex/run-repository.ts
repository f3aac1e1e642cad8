/**
 * The default {@link RunRepository}: runs in `<prefix>runs`, attempts in `<prefix>job_runs`, pause flags in
 * `<prefix>pipelines`. Every state change is a conditional update (it names the state it expects), so two
 * orchestrator processes cannot both move one attempt; claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL and
 * MySQL/MariaDB, and rely on SQLite serializing writers.
 * @module
 */
import type { Knex } from 'knex';
import { StoreError } from '../../errors.js';
import {
  ACTIVE_JOB_RUN_STATUSES,
  type ClaimedJobRun,
  type ClaimRequest,
  type JobRunCondition,
  type JobRunData,
  type JobRunPatch,
  type JobRunRecord,
  type JobRunStatus,
  type JobRunTransition,
  type RunData,
  type RunRecord,
  type RunRepository,
  type RunStatus,
} from '../run-repository.js';
import { type TableNames, tableNames } from './tables.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : num(v));
const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
const parse = <T>(v: unknown, fallback: T): T => {
  if (typeof v !== 'string' || v === '') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};
const clean = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function runFromRow(r: Row): RunRecord {
  return {
    id: String(r.id),
    pipeline: String(r.pipeline),
    intervalStart: num(r.interval_start),
    intervalEnd: num(r.interval_end),
    status: String(r.status) as RunStatus,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    data: parse<RunData>(r.data, { trigger: 'schedule' }),
  };
}

function jobRunFromRow(r: Row): JobRunRecord {
  const out: JobRunRecord = {
    id: String(r.id),
    runId: String(r.run_id),
    pipeline: String(r.pipeline),
    job: String(r.job),
    try: num(r.try),
    status: String(r.status) as JobRunStatus,
    submissionKey: String(r.submission_key),
    notBefore: num(r.not_before),
    priority: num(r.priority),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    data: parse<JobRunData>(r.data, {}),
  };
  const submissionId = optStr(r.submission_id);
  if (submissionId !== undefined) out.submissionId = submissionId;
  const leaseOwner = optStr(r.lease_owner);
  if (leaseOwner !== undefined) out.leaseOwner = leaseOwner;
  const leaseExpiresAt = optNum(r.lease_expires_at);
  if (leaseExpiresAt !== undefined) out.leaseExpiresAt = leaseExpiresAt;
  const pool = optStr(r.pool);
  if (pool !== undefined) out.pool = pool;
  const attemptPk = optNum(r.attempt_pk);
  if (attemptPk !== undefined) out.attemptPk = attemptPk;
  return out;
}

function jobRunToRow(j: JobRunRecord): Row {
  return {
    id: j.id,
    run_id: j.runId,
    pipeline: j.pipeline,
    job: j.job,
    try: j.try,
    status: j.status,
    submission_key: j.submissionKey,
    submission_id: j.submissionId ?? null,
    lease_owner: j.leaseOwner ?? null,
    lease_expires_at: j.leaseExpiresAt ?? null,
    not_before: j.notBefore,
    priority: j.priority,
    pool: j.pool ?? null,
    attempt_pk: j.attemptPk ?? null,
    created_at: j.createdAt,
    updated_at: j.updatedAt,
    data: JSON.stringify(j.data),
  };
}

/** Options of {@link KnexRunRepository}. */
export interface KnexRunRepositoryOptions {
  /** Prefix of every table (default `sparkpilot_`). */
  tablePrefix?: string;
}

/** The default {@link RunRepository}, over the host's Knex. */
export class KnexRunRepository implements RunRepository {
  readonly #knex: Knex | Knex.Transaction;
  readonly #t: TableNames;
  readonly #dialect: string;

  constructor(knex: Knex | Knex.Transaction, options: KnexRunRepositoryOptions = {}) {
    this.#knex = knex;
    this.#t = tableNames(options.tablePrefix ?? 'sparkpilot_');
    this.#dialect = String((knex.client as { dialect?: string }).dialect);
  }

  get #locks(): boolean {
    return this.#dialect === 'postgresql' || this.#dialect === 'mysql';
  }

  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(
        'SPARKPILOT_STORE_WRITE',
        `Orchestrator store: could not ${what}: ${(err as Error).message}. Check that the database is reachable and migrated (sparkpilot db migrate).`,
        { cause: err },
      );
    }
  }

  async createRun(run: RunRecord): Promise<boolean> {
    return this.#guard(`create run ${run.id}`, async () => {
      await this.#knex(this.#t.runs)
        .insert({
          id: run.id,
          pipeline: run.pipeline,
          interval_start: run.intervalStart,
          interval_end: run.intervalEnd,
          status: run.status,
          created_at: run.createdAt,
          updated_at: run.updatedAt,
          data: JSON.stringify(run.data),
        })
        .onConflict()
        .ignore();
      // Whether this call inserted it: the stored row is this one (another writer's has its own created_at).
      return this.#sameRun(run);
    });
  }

  async #sameRun(run: RunRecord): Promise<boolean> {
    const row = await this.#knex(this.#t.runs)
      .where({ pipeline: run.pipeline, interval_start: run.intervalStart, interval_end: run.intervalEnd })
      .first('id', 'created_at');
    return row !== undefined && String(row.id) === run.id && num(row.created_at) === run.createdAt;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const r = await this.#knex(this.#t.runs).where({ id }).first();
    return r ? runFromRow(r) : undefined;
  }

  async findRun(
    pipeline: string,
    intervalStart: number,
    intervalEnd: number,
  ): Promise<RunRecord | undefined> {
    const r = await this.#knex(this.#t.runs)
      .where({ pipeline, interval_start: intervalStart, interval_end: intervalEnd })
      .first();
    return r ? runFromRow(r) : undefined;
  }

  async listRuns(query: {
    pipeline?: string;
    status?: readonly RunStatus[];
    endAfter?: number;
    startBefore?: number;
    limit?: number;
  }): Promise<RunRecord[]> {
    const q = this.#knex(this.#t.runs).select('*');
    if (query.pipeline !== undefined) q.where('pipeline', query.pipeline);
    if (query.status) q.whereIn('status', [...query.status]);
    if (query.endAfter !== undefined) q.where('interval_end', '>', query.endAfter);
    if (query.startBefore !== undefined) q.where('interval_start', '<', query.startBefore);
    q.orderBy([
      { column: 'interval_start', order: 'desc' },
      { column: 'id', order: 'asc' },
    ]);
    q.limit(Math.min(Math.max(query.limit ?? 1000, 1), 100_000));
    return (await q).map(runFromRow);
  }

  async latestScheduledEnd(pipeline: string): Promise<number | undefined> {
    const rows = await this.#knex(this.#t.runs)
      .where({ pipeline })
      .orderBy('interval_end', 'desc')
      .limit(50)
      .select('interval_end', 'data');
    for (const r of rows) {
      if (parse<RunData>(r.data, { trigger: 'schedule' }).trigger === 'schedule') return num(r.interval_end);
    }
    if (rows.length === 50) {
      const all = await this.#knex(this.#t.runs).where({ pipeline }).select('interval_end', 'data');
      let best: number | undefined;
      for (const r of all) {
        if (parse<RunData>(r.data, { trigger: 'schedule' }).trigger !== 'schedule') continue;
        best = Math.max(best ?? Number.NEGATIVE_INFINITY, num(r.interval_end));
      }
      return best;
    }
    return undefined;
  }

  async setRunStatus(
    id: string,
    status: RunStatus,
    from: readonly RunStatus[],
    now: number,
    data?: Partial<RunData>,
  ): Promise<boolean> {
    return this.#guard(`set run ${id} to ${status}`, async () => {
      const patch: Row = { status, updated_at: now };
      if (data) {
        const current = await this.getRun(id);
        if (!current) return false;
        patch.data = JSON.stringify(clean({ ...current.data, ...data }));
      }
      const n = await this.#knex(this.#t.runs)
        .where({ id })
        .whereIn('status', [...from])
        .update(patch);
      return num(n) > 0;
    });
  }

  async jobRuns(runId: string, jobs?: readonly string[]): Promise<JobRunRecord[]> {
    const q = this.#knex(this.#t.jobRuns).where({ run_id: runId });
    if (jobs) {
      if (jobs.length === 0) return [];
      q.whereIn('job', [...jobs]);
    }
    return (await q.orderBy([{ column: 'job' }, { column: 'try' }]).select('*')).map(jobRunFromRow);
  }

  async getJobRun(id: string): Promise<JobRunRecord | undefined> {
    const r = await this.#knex(this.#t.jobRuns).where({ id }).first();
    return r ? jobRunFromRow(r) : undefined;
  }

  async insertJobRuns(rows: readonly JobRunRecord[]): Promise<string[]> {
    if (rows.length === 0) return [];
    return this.#guard(`insert ${rows.length} job attempts`, async () => {
      const inserted: string[] = [];
      // SQLite allows 999 bound parameters in older builds: 17 columns per row.
      for (let i = 0; i < rows.length; i += 50) {
        const chunk = rows.slice(i, i + 50);
        const q = this.#knex(this.#t.jobRuns).insert(chunk.map(jobRunToRow)).onConflict().ignore();
        if (this.#dialect !== 'mysql') {
          for (const r of (await q.returning('id')) as { id: string }[]) inserted.push(String(r.id));
          continue;
        }
        await q;
        const stored = await this.#knex(this.#t.jobRuns)
          .whereIn(
            'id',
            chunk.map((r) => r.id),
          )
          .select('id', 'created_at');
        const mine = new Set(
          stored
            .filter((s) => chunk.some((c) => c.id === s.id && c.createdAt === num(s.created_at)))
            .map((s) => String(s.id)),
        );
        for (const c of chunk) if (mine.has(c.id)) inserted.push(c.id);
      }
      return inserted;
    });
  }

  async updateJobRun(
    id: string,
    patch: JobRunPatch,
    now: number,
    condition: JobRunCondition = {},
  ): Promise<boolean> {
    return this.#guard(`update job attempt ${id}`, async () => {
      const row: Row = { updated_at: now };
      if (patch.status !== undefined) row.status = patch.status;
      if (patch.submissionId !== undefined) row.submission_id = patch.submissionId;
      if (patch.leaseOwner !== undefined) row.lease_owner = patch.leaseOwner;
      if (patch.leaseExpiresAt !== undefined) row.lease_expires_at = patch.leaseExpiresAt;
      if (patch.notBefore !== undefined) row.not_before = patch.notBefore;
      if (patch.attemptPk !== undefined) row.attempt_pk = patch.attemptPk;
      if (patch.fullData !== undefined) row.data = JSON.stringify(clean(patch.fullData));
      const apply = async (k: Knex | Knex.Transaction): Promise<boolean> => {
        if (patch.data) {
          const current = await k(this.#t.jobRuns).where({ id }).first('data');
          if (!current) return false;
          row.data = JSON.stringify(clean({ ...parse<JobRunData>(current.data, {}), ...patch.data }));
        }
        const q = k(this.#t.jobRuns).where({ id });
        if (condition.status) q.whereIn('status', [...condition.status]);
        if (condition.leaseOwner !== undefined) q.where('lease_owner', condition.leaseOwner);
        return num(await q.update(row)) > 0;
      };
      if (!patch.data || this.#knex.isTransaction) return apply(this.#knex);
      return (this.#knex as Knex).transaction((trx) => apply(trx));
    });
  }

  async transitionJobRuns(
    items: readonly JobRunTransition[],
    now: number,
    condition: Required<JobRunCondition>,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    return this.#guard(`move ${items.length} job attempts`, async () => {
      const moved = new Set<string>();
      const k = this.#knex;
      for (let i = 0; i < items.length; i += 60) {
        const chunk = items.slice(i, i + 60);
        const ids = chunk.map((c) => c.id);
        const kase = (values: (c: JobRunTransition) => Knex.Value, bigint = false) => {
          const bindings: Knex.RawBinding[] = [];
          let sql = 'CASE ??';
          bindings.push('id');
          const then = bigint && this.#dialect === 'postgresql' ? ' THEN CAST(? AS BIGINT)' : ' THEN ?';
          for (const c of chunk) {
            sql += ` WHEN ?${then}`;
            bindings.push(c.id, values(c));
          }
          return k.raw(`${sql} END`, bindings);
        };
        const patch: Row = {
          status: kase((c) => c.status),
          lease_owner: kase((c) => c.leaseOwner),
          lease_expires_at: kase((c) => c.leaseExpiresAt, true),
          data: kase((c) => JSON.stringify(clean(c.data))),
          updated_at: now,
        };
        if (chunk.some((c) => c.submissionId !== undefined)) {
          patch.submission_id = kase((c) => c.submissionId ?? null);
        }
        await k(this.#t.jobRuns)
          .whereIn('id', ids)
          .where('lease_owner', condition.leaseOwner)
          .whereIn('status', [...condition.status])
          .update(patch);
        const after = await k(this.#t.jobRuns)
          .whereIn('id', ids)
          .select('id', 'status', 'updated_at', 'lease_owner');
        const want = new Map(chunk.map((c) => [c.id, c]));
        for (const a of after) {
          const c = want.get(String(a.id))!;
          if (
            String(a.status) === c.status &&
            num(a.updated_at) === now &&
            (optStr(a.lease_owner) ?? null) === c.leaseOwner
          ) {
            moved.add(c.id);
          }
        }
      }
      return items.map((c) => moved.has(c.id));
    });
  }

  async countActive(runId: string): Promise<number> {
    const r = await this.#knex(this.#t.jobRuns)
      .where({ run_id: runId })
      .whereIn('status', [...ACTIVE_JOB_RUN_STATUSES])
      .count({ n: '*' });
    return num(Object.values(r[0] ?? { n: 0 })[0]);
  }

  async claim(request: ClaimRequest): Promise<ClaimedJobRun[]> {
    if (request.limit <= 0 || request.pipelines.length === 0) return [];
    return this.#guard(`claim job attempts for ${request.owner}`, async () => {
      const { owner, now, leaseMs, limit } = request;
      const pipelines = [...request.pipelines];
      const until = now + leaseMs;
      const pick = async (k: Knex | Knex.Transaction): Promise<ClaimedJobRun[]> => {
        const q = k(this.#t.jobRuns)
          .where((w) => {
            w.where((a) => a.where('status', 'queued').andWhere('not_before', '<=', now)).orWhere((b) =>
              b.whereIn('status', ['submitting', 'running']).andWhere((c) => {
                c.where('lease_expires_at', '<', now).orWhereNull('lease_expires_at');
                if (request.reclaimOwn) c.orWhere('lease_owner', owner);
              }),
            );
          })
          .whereIn('pipeline', pipelines)
          .orderBy([
            { column: 'priority', order: 'desc' },
            { column: 'not_before', order: 'asc' },
            { column: 'created_at', order: 'asc' },
            { column: 'id', order: 'asc' },
          ])
          .limit(limit)
          .select('*');
        if (this.#locks) q.forUpdate().skipLocked();
        const rows = (await q).map(jobRunFromRow);
        if (rows.length === 0) return [];
        const claimed: ClaimedJobRun[] = [];
        const queued = rows.filter((r) => r.status === 'queued');
        for (let i = 0; i < queued.length; i += 500) {
          const ids = queued.slice(i, i + 500).map((r) => r.id);
          await k(this.#t.jobRuns)
            .whereIn('id', ids)
            .where('status', 'queued')
            .andWhere('not_before', '<=', now)
            .update({ status: 'submitting', lease_owner: owner, lease_expires_at: until, updated_at: now });
          const got = await k(this.#t.jobRuns)
            .whereIn('id', ids)
            .where({ status: 'submitting', lease_owner: owner, lease_expires_at: until })
            .select('id');
          const mine = new Set(got.map((g) => String(g.id)));
          for (const r of queued) {
            if (mine.has(r.id)) {
              claimed.push({
                ...r,
                status: 'submitting',
                leaseOwner: owner,
                leaseExpiresAt: until,
                updatedAt: now,
                takenOver: false,
              });
            }
          }
        }
        for (const r of rows) {
          if (r.status === 'queued') continue;
          const u = k(this.#t.jobRuns).where({ id: r.id, status: r.status });
          if (r.leaseOwner !== undefined) u.where('lease_owner', r.leaseOwner);
          else u.whereNull('lease_owner');
          if (r.leaseExpiresAt !== undefined) u.where('lease_expires_at', r.leaseExpiresAt);
          const n = num(await u.update({ lease_owner: owner, lease_expires_at: until, updated_at: now }));
          if (n > 0) {
            claimed.push({ ...r, leaseOwner: owner, leaseExpiresAt: until, updatedAt: now, takenOver: true });
          }
        }
        return claimed;
      };
      if (this.#knex.isTransaction) return pick(this.#knex);
      return (this.#knex as Knex).transaction((trx) => pick(trx));
    });
  }

  async heartbeat(owner: string, ids: readonly string[], until: number): Promise<number> {
    if (ids.length === 0) return 0;
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      n += num(
        await this.#knex(this.#t.jobRuns)
          .whereIn('id', ids.slice(i, i + 500))
          .where('lease_owner', owner)
          .whereIn('status', ['submitting', 'running'])
          .update({ lease_expires_at: until }),
      );
    }
    return n;
  }

  async nextDue(pipelines: readonly string[]): Promise<number | undefined> {
    if (pipelines.length === 0) return undefined;
    const r = await this.#knex(this.#t.jobRuns)
      .where('status', 'queued')
      .whereIn('pipeline', [...pipelines])
      .min({ t: 'not_before' });
    return optNum(Object.values(r[0] ?? {})[0]);
  }

  async isPaused(pipeline: string): Promise<boolean> {
    const r = await this.#knex(this.#t.pipelines).where({ name: pipeline }).first('paused');
    return r ? Boolean(num(r.paused)) : false;
  }

  async setPaused(pipeline: string, paused: boolean, now: number): Promise<void> {
    await this.#guard(`${paused ? 'pause' : 'resume'} pipeline ${pipeline}`, async () => {
      await this.#knex(this.#t.pipelines)
        .insert({ name: pipeline, paused, updated_at: now, data: '{}' })
        .onConflict('name')
        .merge({ paused, updated_at: now });
    });
  }

  async withPipelineLock<T>(
    pipeline: string,
    now: number,
    fn: (repo: RunRepository) => Promise<T>,
  ): Promise<T> {
    await this.#knex(this.#t.pipelines)
      .insert({ name: pipeline, paused: false, updated_at: now, data: '{}' })
      .onConflict('name')
      .ignore();
    const run = async (trx: Knex.Transaction): Promise<T> => {
      const q = trx(this.#t.pipelines).where({ name: pipeline });
      if (this.#locks) await q.forUpdate().first('name');
      else await trx(this.#t.pipelines).where({ name: pipeline }).update({ updated_at: now });
      return fn(
        new KnexRunRepository(trx, { tablePrefix: this.#t.migrations.slice(0, -'migrations'.length) }),
      );
    };
    if (this.#knex.isTransaction) return run(this.#knex as Knex.Transaction);
    return (this.#knex as Knex).transaction(run);
  }
}

/**
 * The default tuning repositories ({@link AnalysisRepository}, {@link RecommendationRepository},
 * {@link FeedbackRepository}, {@link FeatureRepository}): through the host's Knex instance, on SQLite,
 * PostgreSQL and MySQL/MariaDB, with every value a bound parameter and every object as JSON text.
 * @module
 */
import type { Knex } from 'knex';
import { StoreError, throwIfAborted } from '../../errors.js';
import {
  type AnalysisRecord,
  type AnalysisRepository,
  type FeatureRecord,
  type FeatureRepository,
  type FeedbackRecordRow,
  type FeedbackRepository,
  type FindingMatch,
  type FindingQuery,
  type RecommendationRecord,
  type RecommendationRepository,
  SEVERITY_ORDER,
} from '../tuning-repository.js';
import type { KnexRepositoryOptions } from './application-repository.js';
import { type TableNames, tableNames } from './tables.js';
import { isUniqueViolation } from './unique.js';

type Row = Record<string, unknown>;
type Db = Knex | Knex.Transaction;

const n = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** PostgreSQL text cannot hold NUL, so no stored key contains one: a key with NUL matches nothing. */
const NUL = String.fromCharCode(0);
const hasNul = (v: unknown): boolean => typeof v === 'string' && v.includes(NUL);

/** Rows per insert statement: keeps every dialect under its bound-parameter limit. */
const BATCH = 200;

/** Feature rows per query of {@link KnexFeatureRepository.all}. */
const PAGE = 20_000;

const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

const writeError = (message: string, cause?: unknown) =>
  new StoreError('SPARKPILOT_STORE_WRITE', message, cause === undefined ? {} : { cause });

/** A key is stored exactly or not at all: no NUL, and no longer than its column. */
function key(what: string, value: unknown, max: number): string {
  if (typeof value !== 'string') {
    throw writeError(`${what} must be a string, got ${typeof value}.`);
  }
  if (hasNul(value) || [...value].length > max) {
    throw writeError(
      `${what} ${quote(value)} cannot be stored: use at most ${max} characters and no NUL character.`,
    );
  }
  return value;
}

function severity(what: string, value: unknown): string {
  if (typeof value !== 'string' || !SEVERITY_ORDER.includes(value)) {
    throw writeError(
      `${what} has severity ${JSON.stringify(value)}; use one of ${SEVERITY_ORDER.join(', ')}.`,
    );
  }
  return value;
}

/** Epoch ms (or another whole number of a bigint column). */
function whole(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw writeError(`${what} must be a whole number (epoch ms), got ${JSON.stringify(value)}.`);
  }
  return value;
}

function toJson(what: string, data: unknown): string {
  try {
    return JSON.stringify(data) ?? 'null';
  } catch (cause) {
    throw writeError(`${what} is not JSON: ${(cause as Error).message}.`, cause);
  }
}

const fromJson = (v: unknown): unknown => (v === null || v === undefined ? null : JSON.parse(String(v)));

function limitOf(value: number | undefined, fallback: number, max: number): number {
  const limit = value ?? fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new StoreError(
      'SPARKPILOT_STORE_BAD_QUERY',
      `limit must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  return limit;
}

/** The insert's generated id, as each dialect returns it. */
function insertedId(inserted: unknown): number {
  const first = (inserted as (number | { id: number })[])[0];
  return n(typeof first === 'object' ? first.id : first);
}

const ofApp = (appId: string, attemptId: string | undefined) =>
  `application ${appId}${attemptId ? ` attempt ${attemptId}` : ''}`;

/** The key of a stored attempt (the latest when `attemptId` is omitted), or `undefined`. */
async function findAttempt(
  db: Db,
  t: TableNames,
  appId: string,
  attemptId: string | undefined,
): Promise<number | undefined> {
  if (hasNul(appId) || hasNul(attemptId)) return undefined;
  const q = db(t.attempts).where({ app_id: appId });
  if (attemptId !== undefined) q.andWhere({ attempt_id: attemptId });
  else {
    q.orderBy([
      { column: 'start_time', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
  }
  const row = (await q.first('id')) as Row | undefined;
  return row ? n(row.id) : undefined;
}

/** The tables of a prefix. */
abstract class KnexTuningRepository {
  protected readonly t: TableNames;

  constructor(
    protected readonly knex: Knex,
    options: KnexRepositoryOptions = {},
  ) {
    this.t = tableNames(options.tablePrefix ?? 'sparkpilot_');
  }
}

/** The default {@link AnalysisRepository}, in `<prefix>analyses` and `<prefix>findings`. */
export class KnexAnalysisRepository extends KnexTuningRepository implements AnalysisRepository {
  async save(record: AnalysisRecord): Promise<number> {
    const t = this.t;
    const of = ofApp(record.appId, record.attemptId);
    const analyzer = key('Analyzer name', record.analyzer, 64);
    const version = key(`Version of analyzer ${analyzer}`, record.version, 32);
    const findings = record.findings.map((f) => ({
      finding_id: key('Finding id', f.id, 128),
      severity: severity(`Finding ${f.id}`, f.severity),
      data: null,
    }));
    const row = {
      analyzer,
      version,
      severity: severity(`The analysis of ${of}`, record.severity),
      created_at: whole(`createdAt of the analysis of ${of}`, record.createdAt),
      data: toJson(`The analysis of ${of}`, record.data),
    };
    const attempt = () =>
      this.knex.transaction(async (trx) => {
        const pk = await findAttempt(trx, t, record.appId, record.attemptId);
        if (pk === undefined) {
          throw writeError(
            `Cannot store an analysis of ${of}: it is not stored. Store the attempt first (store.applications.save, or sparkpilot ingest), then its analysis.`,
          );
        }
        const old = (
          (await trx(t.analyses).where({ attempt_pk: pk, analyzer, version }).select('id')) as Row[]
        ).map((r) => n(r.id));
        if (old.length > 0) {
          // Findings go explicitly: a host's SQLite may not enforce foreign keys (and their cascades).
          await trx(t.findings).whereIn('analysis_id', old).delete();
          await trx(t.analyses).whereIn('id', old).delete();
        }
        const id = insertedId(await trx(t.analyses).insert({ attempt_pk: pk, ...row }, ['id']));
        for (let i = 0; i < findings.length; i += BATCH) {
          await trx(t.findings).insert(findings.slice(i, i + BATCH).map((f) => ({ analysis_id: id, ...f })));
        }
        return id;
      });
    const wrap = (err: unknown) =>
      err instanceof StoreError
        ? err
        : writeError(
            `Could not store the ${analyzer} analysis of ${of}: ${(err as Error).message}. Nothing was written; check the database and save it again.`,
            err,
          );
    try {
      return await attempt();
    } catch (err) {
      // Two writers raced to insert the same analysis: the loser retries once, replacing the winner's.
      if (!isUniqueViolation(err, t.analyses)) throw wrap(err);
      try {
        return await attempt();
      } catch (again) {
        throw wrap(again);
      }
    }
  }

  async latest(appId: string, attemptId?: string, analyzer?: string): Promise<AnalysisRecord | undefined> {
    if (hasNul(appId) || hasNul(attemptId) || hasNul(analyzer)) return undefined;
    const t = this.t;
    const q = this.knex(`${t.analyses} as x`)
      .join(`${t.attempts} as a`, 'a.id', 'x.attempt_pk')
      .where('a.app_id', appId);
    if (attemptId !== undefined) q.andWhere('a.attempt_id', attemptId);
    if (analyzer !== undefined) q.andWhere('x.analyzer', analyzer);
    const row = (await q
      .orderBy([
        { column: 'a.start_time', order: 'desc' },
        { column: 'a.id', order: 'desc' },
        { column: 'x.created_at', order: 'desc' },
        { column: 'x.id', order: 'desc' },
      ])
      .first(
        'x.id',
        'a.app_id',
        'a.attempt_id',
        'x.analyzer',
        'x.version',
        'x.created_at',
        'x.severity',
        'x.data',
      )) as Row | undefined;
    if (!row) return undefined;
    const findings = (await this.knex(t.findings)
      .where({ analysis_id: n(row.id) })
      .orderBy('id')
      .select('finding_id', 'severity')) as Row[];
    return {
      appId: String(row.app_id),
      attemptId: String(row.attempt_id),
      analyzer: String(row.analyzer),
      version: String(row.version),
      createdAt: n(row.created_at),
      severity: String(row.severity),
      findings: findings.map((f) => ({ id: String(f.finding_id), severity: String(f.severity) })),
      data: fromJson(row.data),
    };
  }

  async withFinding(findingId: string, options: FindingQuery = {}): Promise<FindingMatch[]> {
    const limit = limitOf(options.limit, 100, 10_000);
    let from = 0;
    if (options.minSeverity !== undefined) {
      from = SEVERITY_ORDER.indexOf(options.minSeverity);
      if (from < 0) {
        throw new StoreError(
          'SPARKPILOT_STORE_BAD_QUERY',
          `minSeverity must be one of ${SEVERITY_ORDER.join(', ')}, got ${JSON.stringify(options.minSeverity)}.`,
        );
      }
    }
    if (hasNul(findingId)) return [];
    const t = this.t;
    const k = this.knex;
    // The rank of a severity: the names are bound, the ranks are the constants 0..4.
    const cases = SEVERITY_ORDER.map((_, i) => `when ? then ${i}`).join(' ');
    const rank = k.raw(`max(case f.severity ${cases} end) as sev_rank`, [...SEVERITY_ORDER]);
    const rows = (await k(`${t.findings} as f`)
      .join(`${t.analyses} as x`, 'x.id', 'f.analysis_id')
      .join(`${t.attempts} as a`, 'a.id', 'x.attempt_pk')
      .where('f.finding_id', findingId)
      .whereIn('f.severity', SEVERITY_ORDER.slice(from))
      // Only the newest analysis of each analyzer of an attempt counts.
      .whereNotExists((newer) => {
        newer
          .select(k.raw('1'))
          .from(`${t.analyses} as y`)
          .whereRaw('y.attempt_pk = x.attempt_pk')
          .andWhereRaw('y.analyzer = x.analyzer')
          .andWhere((w) => {
            w.whereRaw('y.created_at > x.created_at').orWhere((same) =>
              same.whereRaw('y.created_at = x.created_at').andWhereRaw('y.id > x.id'),
            );
          });
      })
      .groupBy('a.id', 'a.app_id', 'a.attempt_id', 'a.start_time')
      .select('a.app_id', 'a.attempt_id', rank)
      .orderBy([
        { column: 'sev_rank', order: 'desc' },
        { column: 'a.start_time', order: 'desc' },
        { column: 'a.id', order: 'desc' },
      ])
      .limit(limit)) as Row[];
    return rows.map((r) => ({
      appId: String(r.app_id),
      attemptId: String(r.attempt_id),
      severity: SEVERITY_ORDER[n(r.sev_rank)] ?? String(r.sev_rank),
    }));
  }
}

const RECOMMENDATION_COLUMNS = ['id', 'job_key', 'recommender', 'confidence', 'created_at', 'data'];

function toRecommendation(r: Row): RecommendationRecord {
  return {
    id: String(r.id),
    jobKey: String(r.job_key),
    recommender: String(r.recommender),
    confidence: n(r.confidence),
    createdAt: n(r.created_at),
    data: fromJson(r.data),
  };
}

/** The default {@link RecommendationRepository}, in `<prefix>recommendations`. */
export class KnexRecommendationRepository extends KnexTuningRepository implements RecommendationRepository {
  async save(record: RecommendationRecord): Promise<void> {
    const id = key('Recommendation id', record.id, 64);
    if (typeof record.confidence !== 'number' || !Number.isFinite(record.confidence)) {
      throw writeError(
        `Recommendation ${id} has confidence ${JSON.stringify(record.confidence)}; use a number from 0 to 1.`,
      );
    }
    const row = {
      id,
      job_key: key(`Job key of recommendation ${id}`, record.jobKey, 255),
      recommender: key(`Recommender of recommendation ${id}`, record.recommender, 64),
      confidence: record.confidence,
      created_at: whole(`createdAt of recommendation ${id}`, record.createdAt),
      data: toJson(`Recommendation ${id}`, record.data),
    };
    try {
      await this.knex(this.t.recommendations).insert(row).onConflict('id').merge();
    } catch (err) {
      throw writeError(
        `Could not store recommendation ${id}: ${(err as Error).message}. Check the database and save it again.`,
        err,
      );
    }
  }

  async get(id: string): Promise<RecommendationRecord | undefined> {
    if (hasNul(id)) return undefined;
    const row = (await this.knex(this.t.recommendations).where({ id }).first(RECOMMENDATION_COLUMNS)) as
      | Row
      | undefined;
    return row ? toRecommendation(row) : undefined;
  }

  async latest(jobKey: string): Promise<RecommendationRecord | undefined> {
    return (await this.list(jobKey, 1))[0];
  }

  async list(jobKey: string, limit?: number): Promise<RecommendationRecord[]> {
    const max = limitOf(limit, 50, 1000);
    if (hasNul(jobKey)) return [];
    const rows = (await this.knex(this.t.recommendations)
      .where({ job_key: jobKey })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(max)
      .select(RECOMMENDATION_COLUMNS)) as Row[];
    return rows.map(toRecommendation);
  }
}

const FEEDBACK_COLUMNS = [
  'f.id',
  'f.recommendation_id',
  'f.created_at',
  'f.data',
  'a.app_id',
  'a.attempt_id',
];

function toFeedback(r: Row): FeedbackRecordRow {
  const out: FeedbackRecordRow = {
    id: n(r.id),
    recommendationId: String(r.recommendation_id),
    createdAt: n(r.created_at),
    data: fromJson(r.data),
  };
  if (r.app_id !== null && r.app_id !== undefined) {
    out.appId = String(r.app_id);
    out.attemptId = String(r.attempt_id);
  }
  return out;
}

/** The default {@link FeedbackRepository}, in `<prefix>feedback`. */
export class KnexFeedbackRepository extends KnexTuningRepository implements FeedbackRepository {
  async add(feedback: FeedbackRecordRow): Promise<number> {
    const t = this.t;
    const recommendationId = feedback.recommendationId;
    const about = `feedback on recommendation ${recommendationId}`;
    if (feedback.appId === undefined && feedback.attemptId !== undefined) {
      throw writeError(`Cannot store ${about}: it names attempt ${feedback.attemptId} but no appId.`);
    }
    const row = {
      recommendation_id: recommendationId,
      created_at: whole(`createdAt of ${about}`, feedback.createdAt),
      data: toJson(about, feedback.data),
    };
    try {
      return await this.knex.transaction(async (trx) => {
        const known =
          !hasNul(recommendationId) &&
          (await trx(t.recommendations).where({ id: recommendationId }).first('id')) !== undefined;
        if (!known) {
          throw writeError(
            `Cannot store ${about}: no recommendation ${quote(recommendationId)} is stored. Save the recommendation first, or use the id a recommendation returned.`,
          );
        }
        let attemptPk: number | null = null;
        if (feedback.appId !== undefined) {
          attemptPk = (await findAttempt(trx, t, feedback.appId, feedback.attemptId)) ?? null;
          if (attemptPk === null) {
            throw writeError(
              `Cannot store ${about}: ${ofApp(feedback.appId, feedback.attemptId)} is not stored. Store the run first (store.applications.save, or sparkpilot ingest), or leave appId out.`,
            );
          }
        }
        return insertedId(await trx(t.feedback).insert({ ...row, attempt_pk: attemptPk }, ['id']));
      });
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw writeError(
        `Could not store ${about}: ${(err as Error).message}. Nothing was written; check the database and add it again.`,
        err,
      );
    }
  }

  async forRecommendation(recommendationId: string): Promise<FeedbackRecordRow[]> {
    if (hasNul(recommendationId)) return [];
    const rows = (await this.query().where('f.recommendation_id', recommendationId)) as Row[];
    return rows.map(toFeedback);
  }

  async forJob(jobKey: string): Promise<FeedbackRecordRow[]> {
    if (hasNul(jobKey)) return [];
    const rows = (await this.query()
      .join(`${this.t.recommendations} as r`, 'r.id', 'f.recommendation_id')
      .where('r.job_key', jobKey)) as Row[];
    return rows.map(toFeedback);
  }

  private query(): Knex.QueryBuilder {
    return this.knex(`${this.t.feedback} as f`)
      .leftJoin(`${this.t.attempts} as a`, 'a.id', 'f.attempt_pk')
      .orderBy([
        { column: 'f.created_at', order: 'asc' },
        { column: 'f.id', order: 'asc' },
      ])
      .select(FEEDBACK_COLUMNS);
  }
}

/** The default {@link FeatureRepository}, in `<prefix>features`. */
export class KnexFeatureRepository extends KnexTuningRepository implements FeatureRepository {
  async put(records: FeatureRecord[]): Promise<void> {
    const t = this.t;
    // One row per attempt (the last record wins): an upsert may not touch a row twice.
    const byAttempt = new Map<string, FeatureRecord>();
    for (const r of records) {
      const where = ofApp(r.appId, r.attemptId);
      key(`Feature version of ${where}`, r.version, 32);
      whole(`startTime of ${where}`, r.startTime);
      if (!Array.isArray(r.vector) || !r.vector.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw writeError(`The feature vector of ${where} must be an array of finite numbers.`);
      }
      byAttempt.set(`${r.appId}${NUL}${r.attemptId}`, r);
    }
    const unique = [...byAttempt.values()];
    if (unique.length === 0) return;
    try {
      await this.knex.transaction(async (trx) => {
        for (let i = 0; i < unique.length; i += BATCH) {
          const batch = unique.slice(i, i + BATCH);
          const appIds = [...new Set(batch.map((r) => r.appId).filter((id) => !hasNul(id)))];
          const pks = new Map<string, number>();
          for (const row of (await trx(t.attempts)
            .whereIn('app_id', appIds)
            .select('id', 'app_id', 'attempt_id')) as Row[]) {
            pks.set(`${row.app_id}${NUL}${row.attempt_id}`, n(row.id));
          }
          const rows = batch.map((r) => {
            const pk = pks.get(`${r.appId}${NUL}${r.attemptId}`);
            if (pk === undefined) {
              throw writeError(
                `Cannot store the features of ${ofApp(r.appId, r.attemptId)}: it is not stored. Store the attempt first (store.applications.save, or sparkpilot ingest); no features of this call were written.`,
              );
            }
            return {
              attempt_pk: pk,
              // A copy of the attempt's job key, cleaned as the attempts table cleans it.
              job_key: r.jobKey.replaceAll(NUL, '').slice(0, 255),
              version: r.version,
              start_time: r.startTime,
              vector: JSON.stringify(r.vector),
            };
          });
          await trx(t.features).insert(rows).onConflict('attempt_pk').merge();
        }
      });
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw writeError(
        `Could not store ${unique.length} feature vectors: ${(err as Error).message}. Nothing was written; check the database and put them again.`,
        err,
      );
    }
  }

  async all(version: string, options: { signal?: AbortSignal } = {}): Promise<FeatureRecord[]> {
    const { signal } = options;
    throwIfAborted(signal);
    if (hasNul(version)) return [];
    const t = this.t;
    const out: FeatureRecord[] = [];
    // Pages in the order of the (version, attempt_pk) index; cancellable between pages.
    for (let after = 0; ; ) {
      const rows = (await this.knex(`${t.features} as f`)
        .join(`${t.attempts} as a`, 'a.id', 'f.attempt_pk')
        .where('f.version', version)
        .andWhere('f.attempt_pk', '>', after)
        .orderBy('f.attempt_pk')
        .limit(PAGE)
        .select(
          'f.attempt_pk',
          'a.app_id',
          'a.attempt_id',
          'f.job_key',
          'f.start_time',
          'f.vector',
        )) as Row[];
      throwIfAborted(signal);
      for (const r of rows) {
        out.push({
          appId: String(r.app_id),
          attemptId: String(r.attempt_id),
          jobKey: String(r.job_key),
          version,
          startTime: n(r.start_time),
          vector: JSON.parse(String(r.vector)) as number[],
        });
      }
      if (rows.length < PAGE) return out;
      after = n(rows[rows.length - 1]!.attempt_pk);
    }
  }

  async missing(version: string, limit: number): Promise<{ appId: string; attemptId: string }[]> {
    const max = limitOf(limit, 100, 10_000);
    const t = this.t;
    const q = this.knex(`${t.attempts} as a`);
    // No stored version contains NUL: every attempt lacks such a version.
    if (!hasNul(version)) {
      q.whereNotExists((sub) => {
        sub
          .select(this.knex.raw('1'))
          .from(`${t.features} as f`)
          .whereRaw('f.attempt_pk = a.id')
          .andWhere('f.version', version);
      });
    }
    const rows = (await q.orderBy('a.id').limit(max).select('a.app_id', 'a.attempt_id')) as Row[];
    return rows.map((r) => ({ appId: String(r.app_id), attemptId: String(r.attempt_id) }));
  }
}

/**
 * A conformance suite for the tuning repositories ({@link AnalysisRepository},
 * {@link RecommendationRepository}, {@link FeedbackRepository}, {@link FeatureRepository}). The Knex
 * repositories pass it on SQLite, PostgreSQL and MariaDB; a host that stores data elsewhere runs it on its
 * own implementations.
 * @module
 */
import { StoreError } from '../errors.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { ApplicationRepository } from '../store/repository.js';
import {
  type AnalysisRecord,
  type AnalysisRepository,
  type FeatureRecord,
  type FeatureRepository,
  type FeedbackRecordRow,
  type FeedbackRepository,
  type RecommendationRecord,
  type RecommendationRepository,
  SEVERITY_ORDER,
} from '../store/tuning-repository.js';
import { resolveTestApi, type TestApi } from './collector-conformance.js';
import { HOSTILE_STRINGS } from './repository-conformance.js';

/** The repositories under test, over one store: the others refer to attempts saved through `applications`. */
export interface TuningRepositories {
  applications: ApplicationRepository;
  analyses: AnalysisRepository;
  recommendations: RecommendationRepository;
  feedback: FeedbackRepository;
  features: FeatureRepository;
}

/** What the suite needs. */
export interface TuningConformanceOptions {
  /** The runner's `describe`, `it` and `expect`; defaults to the runner's globals. */
  test?: TestApi;
  /** Fresh, empty repositories for each test, and how to dispose of them. A `Store` is such repositories. */
  create: () => Promise<{ repositories: TuningRepositories; dispose?: () => Promise<void> }>;
  /** Real models to store: at least three distinct attempts. */
  models: ApplicationAttemptModel[];
  /** Per-test timeout, ms (default 60 s). */
  timeout?: number;
}

const NUL = String.fromCharCode(0);

/** Hostile strings that a key column can hold: no NUL, at most 64 characters. */
const HOSTILE_KEYS = HOSTILE_STRINGS.filter((s) => !s.includes(NUL) && [...s].length <= 64);

/** A JSON payload with nesting, numbers of every kind and every hostile string. */
const payload = (i: number) => ({
  i,
  numbers: [0, 1, -1, 0.1, 1.5e-9, 123456789.125, Number.MAX_SAFE_INTEGER],
  flags: [true, false, null],
  nested: { deeper: { strings: [...HOSTILE_STRINGS] } },
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Declares the tuning repository conformance tests. */
export function describeTuningRepositoryConformance(name: string, options: TuningConformanceOptions): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  const timeout = options.timeout ?? 60_000;
  const models = options.models;
  const key = (a: { appId: string; attemptId?: string }) => `${a.appId}/${a.attemptId ?? ''}`;
  const withRepos = (body: (r: TuningRepositories) => Promise<void>) => async () => {
    const { repositories, dispose } = await options.create();
    try {
      await body(repositories);
    } finally {
      await dispose?.();
    }
  };
  const storeAll = async (r: TuningRepositories) => {
    for (const m of models) await r.applications.save(m);
  };
  const analysisOf = (m: ApplicationAttemptModel, over: Partial<AnalysisRecord> = {}): AnalysisRecord => ({
    appId: m.appId,
    attemptId: m.attemptId ?? '',
    analyzer: 'conformance',
    version: '1',
    createdAt: 1_700_000_000_000,
    severity: 'moderate',
    findings: [
      { id: 'task-skew', severity: 'moderate' },
      { id: 'disk-spill', severity: 'low' },
    ],
    data: payload(0),
    ...over,
  });
  const recommendation = (id: string, over: Partial<RecommendationRecord> = {}): RecommendationRecord => ({
    id,
    jobKey: 'daily etl',
    recommender: 'conformance',
    confidence: 0.8734567,
    createdAt: 1_700_000_000_000,
    data: payload(1),
    ...over,
  });
  const featureOf = (m: ApplicationAttemptModel, over: Partial<FeatureRecord> = {}): FeatureRecord => ({
    appId: m.appId,
    attemptId: m.attemptId ?? '',
    jobKey: `job ${m.appId}`,
    version: 'v1',
    startTime: m.application.attempts[0]?.startTimeEpoch ?? 0,
    vector: [0, 1, -2.5, 1e-9, 123456789.125, m.stages.length],
    ...over,
  });
  const byKey = <T extends { appId: string; attemptId?: string }>(rows: T[]) =>
    [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  /** The application with the most attempts (the latest attempt matters there). */
  const multiAttempt = () => {
    const counts = new Map<string, number>();
    for (const m of models) counts.set(m.appId, (counts.get(m.appId) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  };
  const rank = (s: string) => SEVERITY_ORDER.indexOf(s);

  describe(`tuning repository conformance: ${name}`, () => {
    it(
      'stores an analysis and gives it back whole',
      withRepos(async (r) => {
        expect(models.length).toBeGreaterThanOrEqual(3);
        await storeAll(r);
        const records = models.map((m, i) =>
          analysisOf(m, { createdAt: 1_700_000_000_000 + i, data: payload(i) }),
        );
        const ids = [];
        for (const rec of records) ids.push(await r.analyses.save(rec));
        expect(ids.every((id) => typeof id === 'number')).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        for (const rec of records) {
          expect(await r.analyses.latest(rec.appId, rec.attemptId)).toEqual(rec);
          expect(await r.analyses.latest(rec.appId, rec.attemptId, 'conformance')).toEqual(rec);
          expect(await r.analyses.latest(rec.appId, rec.attemptId, 'other')).toBeUndefined();
        }
        // Without an attempt id: the application's latest attempt.
        const app = multiAttempt();
        const latestAttempt = (await r.applications.attempts(app))[0]!;
        expect(await r.analyses.latest(app)).toEqual(records.find((x) => key(x) === key(latestAttempt)));
        expect(await r.analyses.latest('no-such-app')).toBeUndefined();
        expect(await r.analyses.latest(models[0]!.appId, 'no-such-attempt')).toBeUndefined();
      }),
      timeout,
    );

    it(
      'replaces an analysis of the same attempt, analyzer and version; keeps the newest first',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models[0]!;
        const v1 = analysisOf(m, { createdAt: 1000, findings: [{ id: 'task-skew', severity: 'severe' }] });
        const v2 = analysisOf(m, { version: '2', createdAt: 2000, severity: 'none', findings: [] });
        await r.analyses.save(v1);
        await r.analyses.save(v2);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toEqual(v2);
        // Version 1 again: replaces the first (its finding is gone), and is now the newest.
        const v1b = analysisOf(m, { createdAt: 3000, findings: [{ id: 'disk-spill', severity: 'low' }] });
        await r.analyses.save(v1b);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toEqual(v1b);
        expect(await r.analyses.withFinding('task-skew')).toEqual([]);
        expect(await r.analyses.withFinding('disk-spill')).toEqual([
          { appId: m.appId, attemptId: m.attemptId ?? '', severity: 'low' },
        ]);
        // Replaced by an older one: version 2 is the newest again, and only the newest analysis counts.
        const v1c = analysisOf(m, {
          createdAt: 500,
          findings: [{ id: 'gc-pressure', severity: 'critical' }],
        });
        await r.analyses.save(v1c);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toEqual(v2);
        expect(await r.analyses.withFinding('disk-spill')).toEqual([]);
        expect(await r.analyses.withFinding('gc-pressure')).toEqual([]);
        // Another analyzer does not replace it.
        const other = analysisOf(m, { analyzer: 'other', createdAt: 4000 });
        await r.analyses.save(other);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toEqual(other);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '', 'conformance')).toEqual(v2);
        // Names compare exactly.
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '', 'Conformance')).toBeUndefined();
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '', 'OTHER')).toBeUndefined();
      }),
      timeout,
    );

    it(
      'refuses an analysis of an attempt that is not stored, naming it',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models[0]!;
        for (const rec of [
          analysisOf(m, { appId: 'no-such-app' }),
          analysisOf(m, { attemptId: 'no-such-attempt' }),
        ]) {
          const err = await failure(r.analyses.save(rec));
          expect(err).toBeInstanceOf(StoreError);
          expect((err as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
          expect((err as Error).message).toContain(rec.appId);
          expect((err as Error).message).toMatch(/store the attempt first/i);
        }
        expect(await r.analyses.latest('no-such-app')).toBeUndefined();
        expect(await r.analyses.latest(m.appId)).toBeUndefined();
        const bad = await failure(r.analyses.save(analysisOf(m, { severity: 'apocalyptic' })));
        expect(bad).toBeInstanceOf(StoreError);
        expect(await r.analyses.latest(m.appId)).toBeUndefined();
      }),
      timeout,
    );

    it(
      'finds attempts by finding, most severe first, filtered by severity',
      withRepos(async (r) => {
        await storeAll(r);
        // Every attempt but the first has task-skew, at low, moderate, severe, critical in turn.
        const expected = new Map<string, string>();
        for (const [i, m] of models.entries()) {
          const sev = SEVERITY_ORDER[(i % 4) + 1]!;
          const findings = i === 0 ? [] : [{ id: 'task-skew', severity: sev }];
          if (i > 0) expected.set(key(m), sev);
          await r.analyses.save(
            analysisOf(m, { severity: i === 0 ? 'none' : sev, findings, createdAt: 1000 + i }),
          );
        }
        const all = await r.analyses.withFinding('task-skew', { limit: 1000 });
        expect(new Map(all.map((x) => [key(x), x.severity]))).toEqual(expected);
        expect(all).toHaveLength(expected.size);
        for (let i = 1; i < all.length; i++) {
          expect(rank(all[i - 1]!.severity)).toBeGreaterThanOrEqual(rank(all[i]!.severity));
        }
        for (const minSeverity of SEVERITY_ORDER) {
          const some = await r.analyses.withFinding('task-skew', { minSeverity, limit: 1000 });
          expect(some.map(key).sort()).toEqual(
            [...expected]
              .filter(([, s]) => rank(s) >= rank(minSeverity))
              .map(([k]) => k)
              .sort(),
          );
        }
        expect(await r.analyses.withFinding('task-skew', { limit: 2 })).toEqual(all.slice(0, 2));
        expect((await r.analyses.withFinding('task-skew')).length).toBe(Math.min(100, expected.size));
        expect(await r.analyses.withFinding('no-such-finding')).toEqual([]);
        expect(await r.analyses.withFinding('TASK-SKEW')).toEqual([]);
        expect(await failure(r.analyses.withFinding('task-skew', { minSeverity: 'bad' }))).toBeInstanceOf(
          StoreError,
        );
        expect(await failure(r.analyses.withFinding('task-skew', { limit: 0 }))).toBeInstanceOf(StoreError);
      }),
      timeout,
    );

    it(
      'stores recommendations idempotently by id and lists a job newest first',
      withRepos(async (r) => {
        const a = recommendation('rec-a', { createdAt: 1000 });
        const b = recommendation('rec-b', { createdAt: 3000, confidence: 0.1 });
        const c = recommendation('rec-c', { createdAt: 2000, confidence: 1 });
        const other = recommendation('rec-d', { jobKey: 'hourly load', createdAt: 5000 });
        for (const x of [a, b, c, other]) await r.recommendations.save(x);
        for (const x of [a, b, c, other]) expect(await r.recommendations.get(x.id)).toEqual(x);
        expect(await r.recommendations.latest('daily etl')).toEqual(b);
        expect(await r.recommendations.list('daily etl')).toEqual([b, c, a]);
        expect(await r.recommendations.list('daily etl', 2)).toEqual([b, c]);
        expect(await r.recommendations.list('hourly load')).toEqual([other]);
        // The same id again: one record, the newest content.
        await r.recommendations.save(a);
        const a2 = { ...a, confidence: 0.5, data: { changed: true } };
        await r.recommendations.save(a2);
        expect(await r.recommendations.get('rec-a')).toEqual(a2);
        expect(await r.recommendations.list('daily etl')).toEqual([b, c, a2]);
        // Ids and job keys compare exactly.
        const upper = recommendation('REC-A', { jobKey: 'Daily ETL', createdAt: 9000 });
        await r.recommendations.save(upper);
        expect(await r.recommendations.get('REC-A')).toEqual(upper);
        expect(await r.recommendations.get('rec-a')).toEqual(a2);
        expect(await r.recommendations.list('daily etl')).toEqual([b, c, a2]);
        expect(await r.recommendations.latest('Daily ETL')).toEqual(upper);
        expect(await r.recommendations.get('no-such-rec')).toBeUndefined();
        expect(await r.recommendations.latest('no such job')).toBeUndefined();
        expect(await r.recommendations.list('no such job')).toEqual([]);
        expect(await failure(r.recommendations.list('daily etl', 0))).toBeInstanceOf(StoreError);
      }),
      timeout,
    );

    it(
      'links feedback to its recommendation and to the run that used it',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models.find((x) => x.attemptId === undefined) ?? models[0]!;
        const app = multiAttempt();
        const latestAttempt = (await r.applications.attempts(app))[0]!;
        await r.recommendations.save(recommendation('rec-a'));
        await r.recommendations.save(recommendation('rec-b', { createdAt: 2000 }));
        await r.recommendations.save(recommendation('rec-c', { jobKey: 'hourly load' }));
        const added: FeedbackRecordRow[] = [];
        const add = async (f: FeedbackRecordRow, linked?: { appId: string; attemptId: string }) => {
          const id = await r.feedback.add(f);
          expect(typeof id).toBe('number');
          const row: FeedbackRecordRow = { ...f, id };
          delete row.appId;
          delete row.attemptId;
          if (linked) Object.assign(row, linked);
          added.push(row);
          return row;
        };
        const plain = await add({ recommendationId: 'rec-a', createdAt: 10, data: { rating: 4 } });
        const run = await add(
          {
            recommendationId: 'rec-a',
            appId: m.appId,
            attemptId: m.attemptId ?? '',
            createdAt: 20,
            data: payload(2),
          },
          { appId: m.appId, attemptId: m.attemptId ?? '' },
        );
        const latest = await add(
          { recommendationId: 'rec-b', appId: app, createdAt: 15, data: { observedMs: 1234 } },
          { appId: app, attemptId: latestAttempt.attemptId },
        );
        const other = await add({ recommendationId: 'rec-c', createdAt: 5, data: null });
        expect(new Set(added.map((f) => f.id)).size).toBe(4);
        expect(await r.feedback.forRecommendation('rec-a')).toEqual([plain, run]);
        expect(await r.feedback.forRecommendation('rec-b')).toEqual([latest]);
        expect(await r.feedback.forJob('daily etl')).toEqual([plain, latest, run]);
        expect(await r.feedback.forJob('hourly load')).toEqual([other]);
        expect(await r.feedback.forRecommendation('no-such-rec')).toEqual([]);
        expect(await r.feedback.forJob('no such job')).toEqual([]);
        expect(await r.feedback.forJob('Daily ETL')).toEqual([]);
      }),
      timeout,
    );

    it(
      'refuses feedback on an unknown recommendation or run, writing nothing',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models[0]!;
        await r.recommendations.save(recommendation('rec-a'));
        const unknown = await failure(
          r.feedback.add({ recommendationId: 'no-such-rec', createdAt: 1, data: {} }),
        );
        expect(unknown).toBeInstanceOf(StoreError);
        expect((unknown as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
        expect((unknown as Error).message).toContain('no-such-rec');
        const cased = await failure(r.feedback.add({ recommendationId: 'REC-A', createdAt: 1, data: {} }));
        expect((cased as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
        for (const f of [{ appId: 'no-such-app' }, { appId: m.appId, attemptId: 'no-such-attempt' }]) {
          const err = await failure(
            r.feedback.add({ recommendationId: 'rec-a', createdAt: 1, data: {}, ...f }),
          );
          expect(err).toBeInstanceOf(StoreError);
          expect((err as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
          expect((err as Error).message).toContain(f.appId);
        }
        expect(await r.feedback.forRecommendation('rec-a')).toEqual([]);
        expect(await r.feedback.forJob('daily etl')).toEqual([]);
      }),
      timeout,
    );

    it(
      'upserts feature vectors, lists them by version, and says which attempts lack them',
      withRepos(async (r) => {
        await storeAll(r);
        const allKeys = models.map(key).sort();
        expect((await r.features.missing('v1', 1000)).map(key).sort()).toEqual(allKeys);
        expect(await r.features.missing('v1', 2)).toHaveLength(2);
        const half = models.slice(0, Math.ceil(models.length / 2));
        const rest = models.slice(half.length);
        await r.features.put(half.map((m) => featureOf(m)));
        expect(byKey(await r.features.all('v1'))).toEqual(byKey(half.map((m) => featureOf(m))));
        expect((await r.features.missing('v1', 1000)).map(key).sort()).toEqual(rest.map(key).sort());
        // Upsert: a new vector for the same attempt, and another version that replaces the first.
        const [first, second] = [half[0]!, half[1]!];
        const changed = featureOf(first, { vector: [9, 8, 7], jobKey: 'changed', startTime: 42 });
        await r.features.put([changed, featureOf(second, { version: 'v2' })]);
        const v1 = byKey(await r.features.all('v1'));
        expect(v1).toEqual(byKey([changed, ...half.slice(2).map((m) => featureOf(m))]));
        expect(await r.features.all('v2')).toEqual([featureOf(second, { version: 'v2' })]);
        expect((await r.features.missing('v1', 1000)).map(key).sort()).toEqual(
          [key(second), ...rest.map(key)].sort(),
        );
        await r.features.put([]);
        // All or nothing: one attempt not stored, nothing of the call written.
        const last = models[models.length - 1]!;
        const err = await failure(
          r.features.put([featureOf(last), featureOf(last, { appId: 'no-such-app' })]),
        );
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
        expect((err as Error).message).toContain('no-such-app');
        expect(byKey(await r.features.all('v1'))).toEqual(v1);
        expect(await r.features.all('V1')).toEqual([]);
        expect(await r.features.all('no-such-version')).toEqual([]);
        // Cancellation rethrows the signal's reason.
        const controller = new AbortController();
        const reason = new Error('stop');
        controller.abort(reason);
        expect(await failure(r.features.all('v1', { signal: controller.signal }))).toBe(reason);
        expect(await failure(r.features.missing('v1', 0))).toBeInstanceOf(StoreError);
      }),
      timeout,
    );

    it(
      'forgets the analyses and features of a removed attempt, and unlinks its feedback',
      withRepos(async (r) => {
        await storeAll(r);
        const [m, kept] = [models[0]!, models[1]!];
        await r.analyses.save(analysisOf(m));
        await r.analyses.save(analysisOf(kept));
        await r.features.put([featureOf(m), featureOf(kept)]);
        await r.recommendations.save(recommendation('rec-a'));
        const id = await r.feedback.add({
          recommendationId: 'rec-a',
          appId: m.appId,
          createdAt: 1,
          data: {},
        });
        expect(await r.applications.remove(m.appId, m.attemptId ?? '')).toBe(1);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toBeUndefined();
        expect((await r.analyses.withFinding('task-skew')).map(key)).toEqual([key(kept)]);
        expect(await r.features.all('v1')).toEqual([featureOf(kept)]);
        expect(await r.feedback.forRecommendation('rec-a')).toEqual([
          { id, recommendationId: 'rec-a', createdAt: 1, data: {} },
        ]);
        // Stored again, it has no analysis or vector until they are computed again.
        await r.applications.save(m);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '')).toBeUndefined();
        const missing = (await r.features.missing('v1', 1000)).map(key);
        expect(missing).toContain(key(m));
        expect(missing).not.toContain(key(kept));
      }),
      timeout,
    );

    it(
      'stores hostile strings exactly, as data and as keys',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models[0]!;
        const findings = HOSTILE_KEYS.map((id) => ({ id, severity: 'severe' }));
        const analysis = analysisOf(m, { analyzer: HOSTILE_KEYS[1]!, findings, data: payload(3) });
        await r.analyses.save(analysis);
        expect(await r.analyses.latest(m.appId, m.attemptId ?? '', analysis.analyzer)).toEqual(analysis);
        for (const id of HOSTILE_KEYS) {
          expect(await r.analyses.withFinding(id)).toEqual([
            { appId: m.appId, attemptId: m.attemptId ?? '', severity: 'severe' },
          ]);
        }
        for (const [i, s] of HOSTILE_KEYS.entries()) {
          const rec = recommendation(s, { jobKey: s, recommender: s, createdAt: i, data: { s } });
          await r.recommendations.save(rec);
          expect(await r.recommendations.get(s)).toEqual(rec);
          expect(await r.recommendations.list(s)).toEqual([rec]);
          const id = await r.feedback.add({ recommendationId: s, createdAt: i, data: { s } });
          expect(await r.feedback.forJob(s)).toEqual([
            { id, recommendationId: s, createdAt: i, data: { s } },
          ]);
        }
        const feature = featureOf(m, { version: HOSTILE_KEYS[0]!, jobKey: HOSTILE_KEYS[2]! });
        await r.features.put([feature]);
        expect(await r.features.all(feature.version)).toEqual([feature]);
        // Keys that cannot be stored exactly are refused.
        for (const bad of [`a${NUL}b`, 'x'.repeat(65)]) {
          expect(await failure(r.recommendations.save(recommendation(bad)))).toBeInstanceOf(StoreError);
          expect(await r.recommendations.get(bad)).toBeUndefined();
        }
      }),
      timeout,
    );

    it(
      'binds every value: hostile strings find nothing and change nothing',
      withRepos(async (r) => {
        await storeAll(r);
        const m = models[0]!;
        await r.analyses.save(analysisOf(m));
        await r.recommendations.save(recommendation('rec-a'));
        await r.feedback.add({ recommendationId: 'rec-a', appId: m.appId, createdAt: 1, data: {} });
        await r.features.put(models.map((x) => featureOf(x)));
        const snapshot = async () => ({
          analyses: await Promise.all(models.map((x) => r.analyses.latest(x.appId, x.attemptId ?? ''))),
          skew: await r.analyses.withFinding('task-skew'),
          recommendations: await r.recommendations.list('daily etl'),
          feedback: await r.feedback.forJob('daily etl'),
          features: byKey(await r.features.all('v1')),
          missing: await r.features.missing('v2', 1000),
          attempts: (await r.applications.list({ limit: 1000 })).items,
        });
        const before = await snapshot();
        const allKeys = models.map(key).sort();
        for (const s of HOSTILE_STRINGS) {
          expect(await r.analyses.latest(s)).toBeUndefined();
          expect(await r.analyses.latest(s, s, s)).toBeUndefined();
          expect(await r.analyses.latest(m.appId, s)).toBeUndefined();
          expect(await r.analyses.latest(m.appId, m.attemptId ?? '', s)).toBeUndefined();
          expect(await r.analyses.withFinding(s)).toEqual([]);
          expect(await r.analyses.withFinding(s, { minSeverity: 'none' })).toEqual([]);
          expect(await r.recommendations.get(s)).toBeUndefined();
          expect(await r.recommendations.latest(s)).toBeUndefined();
          expect(await r.recommendations.list(s)).toEqual([]);
          expect(await r.feedback.forRecommendation(s)).toEqual([]);
          expect(await r.feedback.forJob(s)).toEqual([]);
          expect(await r.features.all(s)).toEqual([]);
          expect((await r.features.missing(s, 1000)).map(key).sort()).toEqual(allKeys);
          expect(await failure(r.analyses.withFinding('task-skew', { minSeverity: s }))).toBeInstanceOf(
            StoreError,
          );
          expect(await failure(r.analyses.save(analysisOf(m, { appId: s })))).toBeInstanceOf(StoreError);
          expect(await failure(r.analyses.save(analysisOf(m, { attemptId: s })))).toBeInstanceOf(StoreError);
          expect(
            await failure(r.feedback.add({ recommendationId: s, createdAt: 1, data: {} })),
          ).toBeInstanceOf(StoreError);
          expect(
            await failure(r.feedback.add({ recommendationId: 'rec-a', appId: s, createdAt: 1, data: {} })),
          ).toBeInstanceOf(StoreError);
          expect(await failure(r.features.put([featureOf(m, { appId: s })]))).toBeInstanceOf(StoreError);
        }
        expect(await snapshot()).toEqual(before);
      }),
      timeout,
    );
  });
}

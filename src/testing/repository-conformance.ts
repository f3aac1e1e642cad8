/**
 * A conformance suite for {@link ApplicationRepository} implementations. The Knex repositories pass it on
 * SQLite, PostgreSQL and MariaDB; a host that stores data elsewhere runs it on its own implementation.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { ApplicationQuery, ApplicationRepository, ApplicationSummary } from '../store/repository.js';
import { summarize } from '../store/summary.js';
import { resolveTestApi, type TestApi } from './collector-conformance.js';

/** What the suite needs. */
export interface RepositoryConformanceOptions {
  test?: TestApi;
  /** A fresh, empty repository for each test, and how to dispose of it. */
  create: () => Promise<{ repository: ApplicationRepository; dispose?: () => Promise<void> }>;
  /** Real models to store: at least three distinct attempts, one of them with an attempt id. */
  models: ApplicationAttemptModel[];
  /** The same attempt twice: read while incomplete, then complete. */
  incompleteThenComplete: [ApplicationAttemptModel, ApplicationAttemptModel];
  /** Per-test timeout, ms (default 60 s). */
  timeout?: number;
}

/** Strings that break naive SQL, encodings and limits. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'",
  "''; DROP TABLE sparkpilot_attempts; --",
  '"; DROP TABLE sparkpilot_attempts; --',
  "' OR '1'='1",
  '\\',
  '%',
  '_',
  '%_%',
  '\u0000',
  'Ω≈ç√∫˜µ≤≥÷',
  '🔥💥',
  '\u202Eevil',
  'x'.repeat(10_000),
];

/**
 * The first place where two JSON-like values differ (`$.stages[3].name: "a" != "b"`), or `undefined` when
 * they are equal. A missing key equals one set to `undefined`, as after a JSON round trip. Much cheaper than
 * a test runner's diff of two large models.
 */
export function firstDifference(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  if (typeof actual !== 'object' || typeof expected !== 'object' || actual === null || expected === null) {
    return `${path}: ${JSON.stringify(actual)?.slice(0, 200)} != ${JSON.stringify(expected)?.slice(0, 200)}`;
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) return `${path}: array != object`;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) return `${path}: length ${actual.length} != ${expected.length}`;
    for (let i = 0; i < actual.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
    const d = firstDifference(a[k], e[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

async function listAll(repo: ApplicationRepository, query: ApplicationQuery): Promise<ApplicationSummary[]> {
  const out: ApplicationSummary[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await repo.list({ ...query, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return out;
}

/** Declares the repository conformance tests. */
export function describeRepositoryConformance(name: string, options: RepositoryConformanceOptions): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  const timeout = options.timeout ?? 60_000;
  const withRepo = (body: (repo: ApplicationRepository) => Promise<void>) => async () => {
    const { repository, dispose } = await options.create();
    try {
      await body(repository);
    } finally {
      await dispose?.();
    }
  };
  const key = (a: { appId: string; attemptId?: string }) => `${a.appId}/${a.attemptId ?? ''}`;

  describe(`repository conformance: ${name}`, () => {
    it(
      'stores an attempt and gives it back whole',
      withRepo(async (repo) => {
        for (const m of options.models) {
          expect((await repo.save(m)).outcome).toBe('new');
        }
        for (const m of options.models) {
          expect(firstDifference(await repo.get(m.appId, m.attemptId ?? ''), m)).toBeUndefined();
        }
        expect(await repo.get('no-such-app')).toBeUndefined();
      }),
      timeout,
    );

    it(
      'is idempotent: the same attempt saved twice changes nothing',
      withRepo(async (repo) => {
        const m = options.models[0]!;
        expect((await repo.save(m)).outcome).toBe('new');
        const before = await listAll(repo, { limit: 7 });
        expect((await repo.save(m)).outcome).toBe('unchanged');
        expect((await repo.save(structuredClone(m))).outcome).toBe('unchanged');
        expect(await listAll(repo, { limit: 7 })).toEqual(before);
        expect(before).toHaveLength(1);
      }),
      timeout,
    );

    it(
      'saveMany stores several attempts at once, each as save would, with results in order',
      withRepo(async (repo) => {
        expect(await repo.saveMany([])).toEqual([]);
        const [incomplete, complete] = options.incompleteThenComplete;
        const others = options.models.filter((m) => key(m) !== key(incomplete)).slice(0, 3);
        expect(others.length).toBeGreaterThanOrEqual(2);
        const first = await repo.saveMany([incomplete, others[0]!]);
        expect(first.map((r) => [r.appId, r.attemptId, r.outcome])).toEqual([
          [incomplete.appId, incomplete.attemptId ?? '', 'new'],
          [others[0]!.appId, others[0]!.attemptId ?? '', 'new'],
        ]);
        // One attempt whose content changed, one unchanged, and new ones, in one call.
        const second = await repo.saveMany([others[0]!, complete, ...others.slice(1)]);
        expect(second.map((r) => r.outcome)).toEqual([
          'unchanged',
          'updated',
          ...others.slice(1).map(() => 'new'),
        ]);
        expect(second.map(key)).toEqual([others[0]!, complete, ...others.slice(1)].map(key));
        for (const m of [complete, ...others]) {
          expect(firstDifference(await repo.get(m.appId, m.attemptId ?? ''), m)).toBeUndefined();
        }
        expect((await repo.list({ appId: complete.appId })).items).toHaveLength(1);
        // The same attempt twice in one call: stored once, as its last version.
        const twice = await repo.saveMany([complete, incomplete]);
        expect(twice.map((r) => r.outcome)).toEqual(['unchanged', 'updated']);
        expect((await repo.list({ appId: incomplete.appId })).items[0]!.status).toBe('incomplete');
      }),
      timeout,
    );

    it(
      'updates an in-progress attempt to complete',
      withRepo(async (repo) => {
        const [incomplete, complete] = options.incompleteThenComplete;
        expect(key(incomplete)).toBe(key(complete));
        expect((await repo.save(incomplete)).outcome).toBe('new');
        expect((await repo.list({ appId: incomplete.appId })).items[0]!.status).toBe('incomplete');
        expect((await repo.save(complete)).outcome).toBe('updated');
        const page = await repo.list({ appId: complete.appId });
        expect(page.items).toHaveLength(1);
        expect(page.items[0]!.status).not.toBe('incomplete');
        expect(
          firstDifference(await repo.get(complete.appId, complete.attemptId ?? ''), complete),
        ).toBeUndefined();
      }),
      timeout,
    );

    it(
      'filters, sorts and pages with a stable cursor',
      withRepo(async (repo) => {
        for (const m of options.models) await repo.save(m, { tags: ['conformance', `app:${m.appId}`] });
        const summaries = options.models.map((m) => summarize(m, ['conformance', `app:${m.appId}`]));
        for (const sort of ['startTime', 'endTime', 'duration', 'name'] as const) {
          for (const order of ['asc', 'desc'] as const) {
            const all = await listAll(repo, { sort, order, limit: 2 });
            expect(all.map(key).sort()).toEqual(summaries.map(key).sort());
            const field = sort === 'name' ? 'name' : sort;
            for (let i = 1; i < all.length; i++) {
              const a = all[i - 1]![field];
              const b = all[i]![field];
              expect(order === 'asc' ? a <= b : a >= b).toBe(true);
            }
          }
        }
        const first = summaries[0]!;
        const byApp = await listAll(repo, { appId: first.appId });
        expect(byApp.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.appId === first.appId)
            .map(key)
            .sort(),
        );
        const byUser = await listAll(repo, { sparkUser: first.sparkUser });
        expect(byUser.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.sparkUser === first.sparkUser)
            .map(key)
            .sort(),
        );
        const byJobKey = await listAll(repo, { jobKey: first.jobKey });
        expect(byJobKey.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.jobKey === first.jobKey)
            .map(key)
            .sort(),
        );
        const byTag = await listAll(repo, { tags: ['conformance', `app:${first.appId}`] });
        expect(byTag.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.appId === first.appId)
            .map(key)
            .sort(),
        );
        const byStatus = await listAll(repo, { status: first.status });
        expect(byStatus.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.status === first.status)
            .map(key)
            .sort(),
        );
        const mid = [...summaries].sort((a, b) => a.startTime - b.startTime)[
          Math.floor(summaries.length / 2)
        ]!;
        const after = await listAll(repo, { startedAfter: mid.startTime });
        expect(after.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.startTime >= mid.startTime)
            .map(key)
            .sort(),
        );
        const long = await listAll(repo, { minDuration: mid.duration });
        expect(long.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.duration >= mid.duration)
            .map(key)
            .sort(),
        );
        const prefix = first.name.slice(0, 3);
        const named = await listAll(repo, { namePrefix: prefix });
        expect(named.map(key).sort()).toEqual(
          summaries
            .filter((s) => s.name.startsWith(prefix))
            .map(key)
            .sort(),
        );
        expect(await repo.attempts(first.appId)).toHaveLength(
          summaries.filter((s) => s.appId === first.appId).length,
        );
      }),
      timeout,
    );

    it(
      'binds every filter: hostile strings find nothing and change nothing',
      withRepo(async (repo) => {
        for (const m of options.models) await repo.save(m);
        const before = await listAll(repo, { limit: 1000 });
        for (const s of HOSTILE_STRINGS) {
          for (const field of [
            'appId',
            'name',
            'namePrefix',
            'jobKey',
            'sparkUser',
            'queue',
            'cluster',
            'sparkVersion',
          ] as const) {
            const page = await repo.list({ [field]: s });
            expect(page.items).toEqual([]);
          }
          expect((await repo.list({ tags: [s] })).items).toEqual([]);
          expect(await repo.get(s, s)).toBeUndefined();
          expect(await repo.attempts(s)).toEqual([]);
        }
        let threw = 0;
        for (const bad of [
          'not-a-cursor',
          "'; DROP TABLE x; --",
          Buffer.from('[1,"x"]').toString('base64url'),
        ]) {
          try {
            await repo.list({ cursor: bad });
          } catch {
            threw++;
          }
        }
        expect(threw).toBe(3);
        expect(await listAll(repo, { limit: 1000 })).toEqual(before);
      }),
      timeout,
    );

    it(
      'removes an attempt and everything about it',
      withRepo(async (repo) => {
        for (const m of options.models) await repo.save(m);
        const m = options.models[0]!;
        expect(await repo.remove(m.appId, m.attemptId ?? '')).toBe(1);
        expect(await repo.get(m.appId, m.attemptId ?? '')).toBeUndefined();
        expect(await repo.remove(m.appId, m.attemptId ?? '')).toBe(0);
        expect((await repo.save(m)).outcome).toBe('new');
      }),
      timeout,
    );
  });
}

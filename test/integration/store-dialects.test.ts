import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  migrate,
  migrationStatus,
  openStore,
  rollback,
  type Store,
  StoreError,
  tableNames,
} from '../../src/index.js';
import {
  describeRepositoryConformance,
  describeRunRepositoryConformance,
  describeTuningRepositoryConformance,
  firstDifference,
} from '../../src/testing/index.js';
import { deferred } from '../helpers/deferred.js';
import { incompleteThenComplete, sparkTestModels } from '../helpers/models.js';

// Real PostgreSQL and MariaDB, started by scripts/services/db.sh (see global-setup.ts); SQLite embedded.
// SQLite gets a file per test (one writer per file); the servers get a table prefix per test.
const sqliteDir = mkdtempSync(join(tmpdir(), 'sparkpilot-dialects-'));
writeFileSync(join(sqliteDir, 'a-file'), '');
let files = 0;
const PG =
  process.env.SPARKPILOT_TEST_PG_URL ?? 'postgres://sparkpilot:sparkpilot@127.0.0.1:5432/sparkpilot_test';
const MY =
  process.env.SPARKPILOT_TEST_MYSQL_URL ?? 'mysql://sparkpilot:sparkpilot@127.0.0.1:3306/sparkpilot_test';
const DIALECTS: [string, () => string][] = [
  ['sqlite', () => `sqlite:${join(sqliteDir, `matrix-${files++}.db`)}`],
  ['postgres', () => PG],
  ['mariadb', () => MY],
];

const models = await sparkTestModels();
const pair = await incompleteThenComplete();
let seq = 0;
const prefix = () => `sp_${process.pid}_${seq++}_`;

for (const [dialect, urlFor] of DIALECTS) {
  describeRepositoryConformance(dialect, {
    test: { describe, it, expect },
    models,
    incompleteThenComplete: pair,
    timeout: 120_000,
    create: async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix });
      return {
        repository: store.applications,
        dispose: async () => {
          await rollback(store.knex, { tablePrefix, all: true });
          await store.close();
        },
      };
    },
  });

  describeTuningRepositoryConformance(dialect, {
    test: { describe, it, expect },
    models,
    timeout: 120_000,
    create: async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix });
      return {
        repositories: store,
        dispose: async () => {
          await rollback(store.knex, { tablePrefix, all: true });
          await store.close();
        },
      };
    },
  });

  describeRunRepositoryConformance(dialect, {
    test: { describe, it, expect },
    timeout: 120_000,
    create: async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix });
      return {
        runs: store.runs,
        store,
        dispose: async () => {
          await rollback(store.knex, { tablePrefix, all: true });
          await store.close();
        },
      };
    },
  });

  describe(`store on ${dialect}`, () => {
    const opened: Store[] = [];
    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    it('migrates, reports status, rolls back, and migrating again keeps the data', async () => {
      const tablePrefix = prefix();
      const url = urlFor();
      const store = await openStore(url, { tablePrefix, migrate: false });
      opened.push(store);
      expect(await migrationStatus(store.knex, { tablePrefix })).toEqual({
        applied: [],
        pending: ['0001_initial', '0002_name_binary_order', '0003_tuning', '0004_orchestrator'],
        current: null,
      });
      expect((await migrate(store.knex, { tablePrefix })).applied).toEqual([
        '0001_initial',
        '0002_name_binary_order',
        '0003_tuning',
        '0004_orchestrator',
      ]);
      expect((await migrate(store.knex, { tablePrefix })).applied).toEqual([]);
      const again = await openStore(url, { tablePrefix });
      opened.push(again);
      await again.applications.save(models[0]!);
      expect((await migrate(store.knex, { tablePrefix })).applied).toEqual([]);
      expect(
        firstDifference(
          await again.applications.get(models[0]!.appId, models[0]!.attemptId ?? ''),
          models[0],
        ),
      ).toBeUndefined();
      expect((await rollback(store.knex, { tablePrefix, all: true })).rolledBack).toEqual([
        '0004_orchestrator',
        '0003_tuning',
        '0002_name_binary_order',
        '0001_initial',
      ]);
      expect((await migrationStatus(store.knex, { tablePrefix })).current).toBeNull();
      await again.close();
      await store.close();
    });

    it('upgrades a store of schema version 1 to the newest, keeping every attempt', async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix, migrate: false });
      opened.push(store);
      expect((await migrate(store.knex, { tablePrefix, to: '0001_initial' })).applied).toEqual([
        '0001_initial',
      ]);
      for (const m of models) await store.applications.save(m);
      const before = (await store.applications.list({ limit: 1000, sort: 'name', order: 'asc' })).items;
      expect((await migrate(store.knex, { tablePrefix })).applied).toEqual([
        '0002_name_binary_order',
        '0003_tuning',
        '0004_orchestrator',
      ]);
      const after = (await store.applications.list({ limit: 1000, sort: 'name', order: 'asc' })).items;
      expect(after).toEqual(before);
      for (const m of models) {
        expect(firstDifference(await store.applications.get(m.appId, m.attemptId ?? ''), m)).toBeUndefined();
      }
      // Names sort by code point and a prefix is exact (case and all), on every dialect.
      const names = after.map((s) => s.name);
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const name = models[0]!.application.name;
      const byPrefix = await store.applications.list({ namePrefix: name.slice(0, 4), limit: 1000 });
      expect(byPrefix.items.map((s) => s.appId).sort()).toEqual(
        after
          .filter((s) => s.name.startsWith(name.slice(0, 4)))
          .map((s) => s.appId)
          .sort(),
      );
      const upper = await store.applications.list({
        namePrefix: name.slice(0, 4).toUpperCase(),
        limit: 1000,
      });
      expect(upper.items.map((s) => s.appId).sort()).toEqual(
        after
          .filter((s) => s.name.startsWith(name.slice(0, 4).toUpperCase()))
          .map((s) => s.appId)
          .sort(),
      );
      await expect(migrate(store.knex, { tablePrefix, to: '0099_nothing' })).rejects.toThrow(/0001_initial/);
      await rollback(store.knex, { tablePrefix, all: true });
    });

    it('upgrades a store of schema version 2 with tuning rows, keeping them; rolls version 3 back alone', async () => {
      const tablePrefix = prefix();
      const url = urlFor();
      const store = await openStore(url, { tablePrefix, migrate: false });
      opened.push(store);
      await migrate(store.knex, { tablePrefix, to: '0002_name_binary_order' });
      const t = tableNames(tablePrefix);
      const m = models[0]!;
      await store.applications.save(m);
      const attempt = (await store.knex(t.attempts).first('id')) as { id: number | string };
      const [analysis] = (await store
        .knex(t.analyses)
        .insert(
          { attempt_pk: attempt.id, analyzer: 'job', version: '1', created_at: 1000, data: '{"kept":true}' },
          ['id'],
        )) as (number | { id: number })[];
      const analysisId = typeof analysis === 'object' ? analysis.id : analysis;
      await store
        .knex(t.findings)
        .insert({ analysis_id: analysisId, finding_id: 'task-skew', severity: 'severe' });
      await store.knex(t.recommendations).insert({
        id: 'rec-1',
        job_key: 'daily etl',
        recommender: 'rules',
        confidence: 0.75,
        created_at: 2000,
        data: '{"old":1}',
      });
      await store.knex(t.feedback).insert({
        recommendation_id: 'rec-1',
        attempt_pk: attempt.id,
        created_at: 3000,
        data: '{"rating":5}',
      });
      expect((await migrate(store.knex, { tablePrefix, to: '0003_tuning' })).applied).toEqual([
        '0003_tuning',
      ]);
      const upgraded = await openStore(url, { tablePrefix, migrate: false });
      opened.push(upgraded);
      expect(await upgraded.analyses.latest(m.appId)).toEqual({
        appId: m.appId,
        attemptId: m.attemptId ?? '',
        analyzer: 'job',
        version: '1',
        createdAt: 1000,
        severity: 'none',
        findings: [{ id: 'task-skew', severity: 'severe' }],
        data: { kept: true },
      });
      expect(await upgraded.analyses.withFinding('task-skew')).toEqual([
        { appId: m.appId, attemptId: m.attemptId ?? '', severity: 'severe' },
      ]);
      expect(await upgraded.recommendations.get('rec-1')).toEqual({
        id: 'rec-1',
        jobKey: 'daily etl',
        recommender: 'rules',
        confidence: 0.75,
        createdAt: 2000,
        data: { old: 1 },
      });
      expect(await upgraded.feedback.forJob('daily etl')).toEqual([
        {
          id: expect.any(Number),
          recommendationId: 'rec-1',
          appId: m.appId,
          attemptId: m.attemptId ?? '',
          createdAt: 3000,
          data: { rating: 5 },
        },
      ]);
      expect(await upgraded.features.missing('f1', 10)).toEqual([
        { appId: m.appId, attemptId: m.attemptId ?? '' },
      ]);
      await upgraded.features.put([
        {
          appId: m.appId,
          attemptId: m.attemptId ?? '',
          jobKey: 'k',
          version: 'f1',
          startTime: 1,
          vector: [1],
        },
      ]);
      // Version 3 was applied in a batch of its own: rolling it back keeps what version 2 held.
      expect((await rollback(store.knex, { tablePrefix })).rolledBack).toEqual(['0003_tuning']);
      expect(await store.knex.schema.hasTable(t.features)).toBe(false);
      expect(await store.knex.schema.hasColumn(t.analyses, 'severity')).toBe(false);
      for (const table of [t.analyses, t.findings, t.recommendations, t.feedback]) {
        expect(Number(Object.values((await store.knex(table).count({ n: '*' }))[0]!)[0])).toBe(1);
      }
      expect((await migrate(store.knex, { tablePrefix, to: '0003_tuning' })).applied).toEqual([
        '0003_tuning',
      ]);
      expect((await upgraded.analyses.latest(m.appId))?.data).toEqual({ kept: true });
      await rollback(store.knex, { tablePrefix, all: true });
    });

    it('leaves nothing half-written when a save fails midway, and the next save completes it', async () => {
      const tablePrefix = prefix();
      const url = urlFor();
      const store = await openStore(url, { tablePrefix });
      opened.push(store);
      const model = models.find((m) => m.stages.length > 3 && m.executors.length > 0)!;
      // A write that fails after the attempt, its jobs and its stages are written: a duplicate executor id
      // breaks the executors table's primary key inside the transaction.
      const broken = structuredClone(model);
      broken.executors.push(broken.executors[0]!);
      const err = await store.applications.save(broken).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('SPARKPILOT_STORE_WRITE');
      expect((err as Error).message).toContain(model.appId);
      expect((await store.applications.list()).items).toEqual([]);
      expect(await store.applications.get(model.appId)).toBeUndefined();
      expect((await store.applications.save(model)).outcome).toBe('new');
      expect(
        firstDifference(await store.applications.get(model.appId, model.attemptId ?? ''), model),
      ).toBeUndefined();
      await rollback(store.knex, { tablePrefix, all: true });
    });

    it('saveMany with one attempt that cannot be written stores the others and names the broken one', async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix });
      opened.push(store);
      const broken = structuredClone(models.find((m) => m.executors.length > 0)!);
      broken.executors.push(broken.executors[0]!);
      const others = models.filter((m) => m.appId !== broken.appId).slice(0, 2);
      const err = await store.applications
        .saveMany([others[0]!, broken, others[1]!])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toContain(broken.appId);
      expect(await store.applications.get(broken.appId)).toBeUndefined();
      for (const m of others) {
        expect(firstDifference(await store.applications.get(m.appId, m.attemptId ?? ''), m)).toBeUndefined();
      }
      await rollback(store.knex, { tablePrefix, all: true });
    });

    it('the ingest ledger remembers logs one at a time and in batches, the last entry of a path winning', async () => {
      const tablePrefix = prefix();
      const store = await openStore(urlFor(), { tablePrefix });
      opened.push(store);
      const entry = (path: string, signature: string) => ({
        path,
        signature,
        appId: `app-${signature}`,
        attemptId: '1',
        ingestedAt: 1_700_000_000_000,
      });
      await store.ledger.put(entry('/logs/a', 'a1'));
      await store.ledger.putMany([entry('/logs/a', 'a2'), entry('/logs/b', 'b1'), entry('/logs/b', 'b2')]);
      await store.ledger.putMany([]);
      expect(await store.ledger.get('/logs/a')).toEqual(entry('/logs/a', 'a2'));
      expect(await store.ledger.get('/logs/b')).toEqual(entry('/logs/b', 'b2'));
      expect(await store.ledger.get('/logs/c')).toBeUndefined();
      await rollback(store.knex, { tablePrefix, all: true });
    });

    it('close() lets a transaction in flight finish and fails every later query at once, naming the store', async () => {
      const url = urlFor();
      const store = await openStore(url, { tablePrefix: prefix() });
      // Idle connections in the pool, as a store in use has: closing destroys them one by one.
      await Promise.all([1, 2, 3].map(() => store.knex.raw('select 1')));
      const began = deferred();
      const gate = deferred();
      const inFlight = store.knex.transaction(async (trx) => {
        began.resolve();
        await gate.promise;
        await trx.raw('select 1');
        return 'done';
      });
      await began.promise;
      const closing = store.close();
      // Queries while the pool is being destroyed (Knex's pool lost such a request until its acquire timeout,
      // 30 s on SQLite and 60 s otherwise) and after: each fails at once.
      const late = [0, 1, 2, 3, 5, 8].map(
        (ms) =>
          new Promise<unknown>((r) =>
            setTimeout(() => {
              store.runs.getRun('r').then(r, r);
            }, ms),
          ),
      );
      const failures = await Promise.all(late);
      gate.resolve();
      expect(await inFlight).toBe('done');
      await closing;
      await store.close(); // a second close is harmless
      failures.push(await store.applications.list({}).catch((e: unknown) => e));
      for (const err of failures) {
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('SPARKPILOT_STORE_CLOSED');
        expect((err as Error).message).toContain(url.startsWith('sqlite') ? url : ':***@127.0.0.1');
        expect((err as Error).message).not.toContain('sparkpilot:sparkpilot@');
      }
      expect(failures.length).toBe(7);
    });

    it('says which database it could not reach, without the password', async () => {
      const url = urlFor();
      const bad = url.startsWith('sqlite')
        ? `sqlite:${join(sqliteDir, 'a-file')}/x.db`
        : url.replace(/:\d+\//, ':1/').replace('sparkpilot:sparkpilot@', 'sparkpilot:s3cret@');
      const err = await openStore(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error).message)).not.toContain('s3cret');
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('SPARKPILOT_STORE_CONNECT');
      expect((err as Error).message).toContain(url.startsWith('sqlite') ? 'a-file' : ':1/');
    });
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PG =
  process.env.SPARKPILOT_TEST_PG_URL ?? 'postgres://sparkpilot:sparkpilot@127.0.0.1:5432/sparkpilot_test';
const JOBS = 24;

function worker(
  db: string,
  cluster: string,
  owner: string,
  prefix: string,
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    [join(root, 'test/helpers/orchestrator-worker.mjs'), join(root, 'dist'), db, cluster, owner, prefix],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
const exited = (p: ChildProcess) =>
  new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));
const output = (p: ChildProcess) => {
  let out = '';
  p.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return () => out;
};
async function until(what: string, ok: () => boolean, ms = 90_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What every test checks: each job ran exactly once on the cluster and its last attempt succeeded. */
async function checkOnce(db: string, prefix: string, cluster: string) {
  const sp = await import(`${root}dist/index.js`);
  const store = await sp.openStore(db, { tablePrefix: prefix });
  const id = sp.runIdFor('multi', {
    start: new Date('2025-06-01T00:00:00Z'),
    end: new Date('2025-06-02T00:00:00Z'),
  });
  expect((await store.runs.getRun(id)).status).toBe('succeeded');
  const rows = await store.runs.jobRuns(id);
  await store.close();
  expect(rows.length).toBe(JOBS);
  expect(rows.every((r: { status: string; try: number }) => r.status === 'succeeded' && r.try === 1)).toBe(
    true,
  );
  const created = lines(join(cluster, 'created.log')).map((l) => l.split(' ')[1]);
  expect(created.length).toBe(JOBS);
  expect(new Set(created).size).toBe(JOBS);
  expect(readdirSync(cluster).filter((f) => f.endsWith('.json')).length).toBe(JOBS);
  return rows;
}

describe('orchestrator processes', () => {
  it('three processes on one PostgreSQL database run each job attempt once; a SIGKILLed one is taken over after its leases expire', async () => {
    const cluster = mkdtempSync(join(tmpdir(), 'sparkpilot-cluster-'));
    const prefix = `mp${Date.now() % 100000}_`;
    // b starts first and triggers the run, so it surely claims work; a and c join once b has submitted.
    const slow = { JOB_MS: '4000' };
    const b = worker(PG, cluster, 'proc-b', prefix, { ...slow, TRIGGER: '1' });
    const outB = output(b);
    await until('proc-b to submit', () =>
      lines(join(cluster, 'events-proc-b.log')).some((l) => l.startsWith('job:submitted')),
    );
    const a = worker(PG, cluster, 'proc-a', prefix, slow);
    const c = worker(PG, cluster, 'proc-c', prefix, slow);
    const outA = output(a);
    const outC = output(c);
    // Kill b once another process has submitted too: b then holds leases on attempts still running.
    await until('proc-a or proc-c to submit', () =>
      ['proc-a', 'proc-c'].some((o) =>
        lines(join(cluster, `events-${o}.log`)).some((l) => l.startsWith('job:submitted')),
      ),
    );
    b.kill('SIGKILL');
    expect(await exited(b)).toBe(null);
    expect(outB()).not.toContain('done');
    await until('the run to end', () => outA().includes('done') && outC().includes('done'), 120_000);
    await Promise.all([exited(a), exited(c)]);
    expect(outA()).toContain('done succeeded');
    const rows = await checkOnce(PG, prefix, cluster);
    const events = ['proc-a', 'proc-b', 'proc-c'].flatMap((o) =>
      lines(join(cluster, `events-${o}.log`)).map((l) => `${o} ${l}`),
    );
    // Every job was submitted by exactly one process, and succeeded in exactly one (no double execution).
    for (const r of rows as { job: string }[]) {
      expect(events.filter((e) => e.includes(`job:submitted ${r.job} `)).length).toBe(1);
      expect(events.filter((e) => e.includes(`job:succeeded ${r.job} `)).length).toBe(1);
    }
    // The jobs b submitted and could not finish were re-attached by a or c, not submitted again.
    const bSubmitted = events.filter((e) => e.startsWith('proc-b job:submitted')).map((e) => e.split(' ')[2]);
    const bSucceeded = new Set(
      events.filter((e) => e.startsWith('proc-b job:succeeded')).map((e) => e.split(' ')[2]),
    );
    const orphans = bSubmitted.filter((j) => !bSucceeded.has(j));
    expect(orphans.length).toBeGreaterThan(0);
    for (const j of orphans) {
      expect(events.some((e) => !e.startsWith('proc-b') && e.includes(`job:reattached ${j} `))).toBe(true);
    }
    // b and at least one other process submitted work; both survivors finished the run together.
    expect(events.some((e) => e.startsWith('proc-b job:submitted'))).toBe(true);
    expect(events.some((e) => /^proc-[ac] job:submitted/.test(e))).toBe(true);
    expect(outC()).toContain('done succeeded');
    expect(events.filter((e) => e.includes(' error '))).toEqual([]);
  }, 240_000);

  it('an orchestrator SIGKILLed at any point and started again with the same owner finishes the run, nothing submitted twice (SQLite)', async () => {
    const cluster = mkdtempSync(join(tmpdir(), 'sparkpilot-cluster-'));
    const db = `sqlite:${join(cluster, 'store.db')}`;
    const env = { LEASE_MS: '600000' }; // leases far longer than the test: only taking back its own work helps
    let first = true;
    // Kill it three times at different points: right after start, after some submissions, mid-layer.
    for (const killAfter of [0, 3, 9]) {
      const p = worker(db, cluster, 'host-1', 'sp_', first ? { ...env, TRIGGER: '1' } : env);
      first = false;
      const out = output(p);
      await until('start', () => out().includes('started') || p.exitCode !== null);
      await until(`${killAfter} submissions`, () => lines(join(cluster, 'created.log')).length >= killAfter);
      p.kill('SIGKILL');
      await exited(p);
    }
    const last = worker(db, cluster, 'host-1', 'sp_', env);
    const out = output(last);
    await until('the run to end', () => out().includes('done'), 120_000);
    await exited(last);
    expect(out()).toContain('done succeeded');
    await checkOnce(db, 'sp_', cluster);
    const submits = lines(join(cluster, 'submits.log'));
    // submit() may be called again for a key whose submission was not recorded, but it never created a second run.
    expect(new Set(submits.map((l) => l.split(' ')[1])).size).toBe(JOBS);
    // No orchestrator reported an error (a store query after close() used to wait out the acquire timeout).
    const events = lines(join(cluster, 'events-host-1.log'));
    expect(events.filter((e) => e.startsWith('job:succeeded ')).length).toBeGreaterThan(0);
    expect(events.filter((e) => e.startsWith('error '))).toEqual([]);
  }, 240_000);
});

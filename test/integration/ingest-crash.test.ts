import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../helpers/data.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Ingests `logs` into `db` in a child process, printing a line per stored attempt. */
const CHILD = `
const sp = await import(process.argv[1]);
const store = await sp.openStore('sqlite:' + process.argv[2]);
let last = 0;
await sp.ingestEventLogs(store, [process.argv[3]], {
  onProgress: (p) => { if (p.stored > last) { last = p.stored; console.log('stored ' + p.stored); } },
});
console.log('done');
`;

describe('ingest killed midway (SIGKILL)', () => {
  it('leaves only whole attempts, and the next ingest completes the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-crash-'));
    const logs = join(dir, 'logs');
    cpSync(sharedData('more-events'), join(logs, 'more'), { recursive: true });
    cpSync(sharedData('spark-events'), join(logs, 'spark'), { recursive: true });
    const db = join(dir, 'store.db');
    const sp = await import(`${root}dist/index.js`);
    const { firstDifference } = await import(`${root}dist/testing.js`);
    const expected = await sp.eventLogCollector({ workers: 1 }).collect(logs);
    // Real logs can share an application id (the same app in two codecs, or copied and cut short): an
    // attempt in the store must then equal the model of one of its logs.
    const byKey = new Map<string, unknown[]>();
    for (const m of expected.applications as { appId: string; attemptId?: string }[]) {
      const key = `${m.appId}/${m.attemptId ?? ''}`;
      byKey.set(key, [...(byKey.get(key) ?? []), m]);
    }
    const whole = (model: unknown, key: string) =>
      (byKey.get(key) ?? []).some((m) => firstDifference(model, m) === undefined);
    expect(byKey.size).toBeGreaterThan(40);

    // Kill the ingest as soon as it has stored a few attempts: it is then mid-way through others.
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CHILD, `${root}dist/index.js`, db, logs],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const killedAt = await new Promise<number>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /stored (\d+)\n/.exec(out.split('\n').slice(-3).join('\n'));
        if (m && Number(m[1]) >= 5 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
      });
      child.on('exit', () => resolve(-1));
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.on('exit', r)));
    expect(killedAt).toBeGreaterThanOrEqual(5);
    expect(child.signalCode).toBe('SIGKILL');
    expect(out).not.toContain('done');

    const store = await sp.openStore(`sqlite:${db}`);
    try {
      const stored: { appId: string; attemptId: string }[] = [];
      for (let cursor: string | undefined, first = true; first || cursor; first = false) {
        const page = await store.applications.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
        stored.push(...page.items);
        cursor = page.nextCursor;
      }
      expect(stored.length).toBeGreaterThanOrEqual(killedAt);
      expect(stored.length).toBeLessThan(byKey.size);
      // Every attempt in the store is whole: equal to the model read from its log.
      for (const s of stored) {
        const model = await store.applications.get(s.appId, s.attemptId);
        expect(whole(model, `${s.appId}/${s.attemptId}`)).toBe(true);
      }

      const again = await sp.ingestEventLogs(store, [logs], { workers: 1 });
      expect(again.failed).toEqual([]);
      expect(again.new).toBe(byKey.size - stored.length);
      // Every log is accounted for once: skipped by the ledger when stored before the kill, otherwise read.
      expect(again.new + again.updated + again.unchanged + again.skipped).toBe(expected.applications.length);
      expect(again.skipped).toBeGreaterThanOrEqual(killedAt);
      const all = (await store.applications.list({ limit: 1000 })).items;
      expect(all).toHaveLength(byKey.size);
      for (const s of all) {
        const model = await store.applications.get(s.appId, s.attemptId);
        expect(whole(model, `${s.appId}/${s.attemptId}`)).toBe(true);
      }
    } finally {
      await store.close();
    }
  });
});

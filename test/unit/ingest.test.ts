import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestEventLogs, openStore, type Store } from '../../src/index.js';
import { fixture, sharedData } from '../helpers/data.js';

const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-ingest-'));
const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});
const open = async (name: string) => {
  const s = await openStore(`sqlite:${join(dir, name)}`);
  stores.push(s);
  return s;
};

describe('ingest', () => {
  it('stores every attempt of a folder, then reads only what changed', async () => {
    const logs = join(dir, 'logs');
    cpSync(sharedData('spark-events'), logs, { recursive: true });
    const store = await open('a.db');
    const first = await ingestEventLogs(store, [logs], { workers: 1 });
    expect(first).toMatchObject({ new: 18, updated: 0, unchanged: 0, skipped: 0, failed: [] });
    expect((await store.applications.list({ limit: 100 })).items).toHaveLength(18);

    const again = await ingestEventLogs(store, [logs], { workers: 1 });
    expect(again).toMatchObject({ new: 0, updated: 0, unchanged: 0, skipped: 18, bytes: 0 });

    // A log that changed on disk is read again; its content is the same, so nothing is rewritten.
    const touched = join(logs, 'local-1430917381534');
    writeFileSync(touched, readFileSync(touched));
    const third = await ingestEventLogs(store, [logs], { workers: 1 });
    expect(third).toMatchObject({ new: 0, updated: 0, unchanged: 1, skipped: 17 });

    const forced = await ingestEventLogs(store, [logs], { workers: 1, force: true });
    expect(forced).toMatchObject({ new: 0, updated: 0, unchanged: 18, skipped: 0 });

    // The same logs in another folder: each model names that folder as its log source, and is unchanged.
    const moved = join(dir, 'moved');
    cpSync(logs, moved, { recursive: true });
    const elsewhere = await ingestEventLogs(store, [moved], { workers: 1 });
    expect(elsewhere).toMatchObject({ new: 0, updated: 0, unchanged: 18, skipped: 0 });
    const stored = await store.applications.get('local-1430917381534');
    expect(stored?.application.attempts[0]?.logSourceName).toBe(pathToFileURL(logs).href);
  });

  it('updates an in-progress attempt when its log completes', async () => {
    const logs = join(dir, 'growing');
    mkdirSync(logs);
    const full = readFileSync(sharedData('spark-events/local-1430917381534'), 'utf8').split('\n');
    const running = join(logs, 'local-1430917381534.inprogress');
    writeFileSync(running, `${full.slice(0, Math.floor(full.length / 2)).join('\n')}\n`);
    const store = await open('b.db');
    expect(await ingestEventLogs(store, [logs], { workers: 1 })).toMatchObject({ new: 1, failed: [] });
    expect((await store.applications.list()).items[0]!.status).toBe('incomplete');
    writeFileSync(running, full.join('\n'));
    renameSync(running, join(logs, 'local-1430917381534'));
    expect(await ingestEventLogs(store, [logs], { workers: 1 })).toMatchObject({
      new: 0,
      updated: 1,
      failed: [],
    });
    const [summary] = (await store.applications.list()).items;
    expect(summary!.status).toBe('succeeded');
    expect(summary!.numTasks).toBe(110);
  });

  it('reports what it could not read, and stores the rest', async () => {
    const logs = join(dir, 'mixed');
    cpSync(sharedData('spark-events/local-1422981780767'), join(logs, 'local-1422981780767'));
    // A real lz4 log under a zstd name: its bytes do not match its extension.
    const lz4 = readdirSync(fixture('spark-events/codec-lz4'))[0]!;
    copyFileSync(fixture(`spark-events/codec-lz4/${lz4}`), join(logs, 'bad.zstd'));
    const store = await open('c.db');
    const r = await ingestEventLogs(store, [logs, join(dir, 'missing')], { workers: 1 });
    expect(r.new).toBe(1);
    expect(r.failed.map((f) => f.code).sort()).toEqual([
      'SPARKPILOT_EVENTLOG_CODEC',
      'SPARKPILOT_EVENTLOG_NOT_FOUND',
    ]);
    expect(r.failed.find((f) => f.code === 'SPARKPILOT_EVENTLOG_CODEC')!.message).toContain('bad.zstd');
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApplicationAttemptModel, eventLogCollector } from '../../src/index.js';
import { sharedData } from './data.js';

/** Real models: every attempt of Spark's own History Server test logs. */
export async function sparkTestModels(): Promise<ApplicationAttemptModel[]> {
  const r = await eventLogCollector({ workers: 1 }).collect(sharedData('spark-events'));
  return r.applications;
}

/**
 * One real attempt read twice: first from the first 60% of its log (as while it was running), then whole.
 */
export async function incompleteThenComplete(): Promise<[ApplicationAttemptModel, ApplicationAttemptModel]> {
  const full = sharedData('spark-events/local-1430917381534');
  const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-partial-'));
  const partial = join(dir, 'local-1430917381534.inprogress');
  const lines = readFileSync(full, 'utf8').split('\n');
  writeFileSync(partial, `${lines.slice(0, Math.floor(lines.length * 0.6)).join('\n')}\n`);
  const c = eventLogCollector({ workers: 1 });
  const [a] = (await c.collect(partial)).applications;
  const [b] = (await c.collect(full)).applications;
  return [a!, b!];
}

/**
 * What a model says whatever it was read from: without its sources, warnings, and the folder its attempt
 * names as its log source (`logSourceName`, `logSourceFullPath`), so that models of one log read from two
 * places compare equal.
 */
export function readFromAnywhere(
  m: ApplicationAttemptModel,
): Omit<ApplicationAttemptModel, 'sources' | 'warnings'> {
  const { sources: _s, warnings: _w, ...rest } = m;
  const attempts = m.application.attempts.map(({ logSourceName: _n, logSourceFullPath: _p, ...a }) => a);
  return { ...rest, application: { ...m.application, attempts } };
}

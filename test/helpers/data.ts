import { fileURLToPath } from 'node:url';

const sharedRoot = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const fixtureRoot = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Absolute path of a file under `../shared/data` (real logs and History Server golden responses). */
export function sharedData(relPath = ''): string {
  return sharedRoot + relPath;
}

/** Absolute path of a file under `test/fixtures` (logs written by real Spark through scripts/fixtures). */
export function fixture(relPath = ''): string {
  return fixtureRoot + relPath;
}

#!/usr/bin/env node
// `npm run demo`: builds sparkpilot if needed, then reads the event logs that real Spark wrote into
// test/fixtures/spark-events (every codec, a rolling log, an in-progress log, failed tasks) and prints a
// summary of each application attempt.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}dist/cli.js`) || process.env.SPARKPILOT_DEMO_REBUILD) {
  const b = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const args = process.argv.slice(2);
const r = spawnSync(
  process.execPath,
  [`${root}dist/cli.js`, 'inspect', `${root}test/fixtures/spark-events`, ...args],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);

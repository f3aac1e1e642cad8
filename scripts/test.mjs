#!/usr/bin/env node
// The one test command (`npm test`): lint and format check, type check, build, API docs, then every
// unit and integration test. Services the tests need are started by the tests' own setup.
import { spawnSync } from 'node:child_process';

const steps = [
  ['lint + format', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']],
  ['build', 'npx', ['tsup']],
  ['api docs', 'npx', ['typedoc', '--logLevel', 'Warn']],
  ['tests', 'npx', ['vitest', 'run']],
];

for (const [name, cmd, args] of steps) {
  process.stderr.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    process.stderr.write(`\n== ${name} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

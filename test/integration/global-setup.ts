import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Integration tests run the built package against real databases and real Spark: build dist/ when it is
 * missing or older than src/, start PostgreSQL and MariaDB (installing them when missing) with
 * scripts/services/db.sh, and set up PySpark in .venv with scripts/fixtures/setup-spark.sh. A database or
 * Spark that cannot start fails the run; it is never skipped.
 */
export default function setup(): void {
  const services = spawnSync('bash', [join(root, 'scripts/services/db.sh'), 'up'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (services.status !== 0) {
    throw new Error(
      '[sparkpilot] scripts/services/db.sh up failed: PostgreSQL or MariaDB could not start (see .services/*.log).',
    );
  }
  // Real Spark for the adapter, session and example tests: PySpark in .venv (installed when missing).
  const spark = spawnSync('bash', [join(root, 'scripts/fixtures/setup-spark.sh')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (spark.status !== 0) {
    throw new Error(
      '[sparkpilot] scripts/fixtures/setup-spark.sh failed: PySpark (with Java 17) could not be set up in .venv.',
    );
  }
  const dist = join(root, 'dist/index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(root, 'src'))) return;
  const r = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error('[sparkpilot] the build (npx tsup) failed; integration tests need dist/.');
}

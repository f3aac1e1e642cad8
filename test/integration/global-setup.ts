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
 * Integration tests run the built package against real databases: build dist/ when it is missing or older
 * than src/, and start PostgreSQL and MariaDB (installing them when missing) with scripts/services/db.sh.
 * A database that cannot start fails the run; it is never skipped.
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
  const dist = join(root, 'dist/index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(root, 'src'))) return;
  const r = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error('[sparkpilot] the build (npx tsup) failed; integration tests need dist/.');
}

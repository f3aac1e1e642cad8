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

/** Integration tests run the built package: build it when dist/ is missing or older than src/. */
export default function setup(): void {
  const dist = join(root, 'dist/index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(root, 'src'))) return;
  const r = spawnSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error('[sparkpilot] the build (npx tsup) failed; integration tests need dist/.');
}

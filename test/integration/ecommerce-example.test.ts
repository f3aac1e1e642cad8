import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectSameRows, runSparkJob } from '../../src/testing/index.js';
import { sparkEnv, sparkHome, venvPython } from '../helpers/spark.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const example = join(root, 'examples/ecommerce');

describe('examples/ecommerce on real PySpark', () => {
  it('runs the pipeline through spark-submit and through a shared session, both matching expected.py', async () => {
    // Not spawnSync: the example runs for a minute or more, and a test worker blocked that long misses
    // vitest's own calls (which time out after 60 s).
    const child = spawn(process.execPath, [join(example, 'run.mjs')], {
      env: { ...sparkEnv(), SPARK_HOME: sparkHome(), PYSPARK_PYTHON: venvPython() },
      timeout: 600_000,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, out.slice(-4000)).toBe(0);
    expect(out.match(/same as expected\.py/g)?.length).toBe(6);
    expect(out).toContain('ecommerce: succeeded');
    expect(out).toContain('ecommerce_session: succeeded');
    // The four spark-submit jobs' event logs were stored and analyzed, each with a recommendation.
    expect(out).toMatch(/event logs collected and analyzed: 4/);
    expect(out.match(/ecommerce\.\w+ -> local-\d+ \(next: /g)?.length).toBe(4);
    const saving = /shared session: run ([\d.]+) s against ([\d.]+) s/.exec(out);
    expect(saving).not.toBeNull();
    expect(Number(saving![1])).toBeLessThan(Number(saving![2]));
  }, 600_000);

  it('runSparkJob runs one job on local Spark against fixture data and compares rows in any order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-kit-'));
    const python = venvPython();
    const end = '2025-06-10T00:00:00Z';
    const iv = ['--start', '2025-06-09T00:00:00Z', '--end', end];
    execFileSync(python, [
      join(example, 'generate_data.py'),
      '--out',
      join(dir, 'raw'),
      '--end',
      end,
      '--days',
      '8',
      '--events-per-hour',
      '100',
    ]);
    execFileSync(python, [
      join(example, 'expected.py'),
      '--raw',
      join(dir, 'raw'),
      ...iv,
      '--out',
      join(dir, 'expected'),
    ]);
    const common = { sparkHome: sparkHome(), python };
    const clean = await runSparkJob({
      ...common,
      application: { file: join(example, 'jobs/load_clean.py') },
      args: ['--raw', join(dir, 'raw'), '--clean', join(dir, 'clean'), ...iv],
      output: { path: join(dir, 'clean/orders'), format: 'parquet' },
    });
    expect(clean.status.state).toBe('SUCCEEDED');
    expect(clean.rows.length).toBeGreaterThan(1000);
    const q3 = await runSparkJob({
      ...common,
      application: { file: join(example, 'jobs/q3_sales_by_category.py') },
      args: ['--clean', join(dir, 'clean'), '--out', join(dir, 'out'), ...iv],
      output: { path: join(dir, 'out/q3.json'), format: 'json-document', pointer: 'rows' },
    });
    expect(q3.status.state).toBe('SUCCEEDED');
    const expected = JSON.parse(readFileSync(join(dir, 'expected/q3.json'), 'utf8')).rows;
    expect(q3.rows.length).toBe(expected.length);
    expectSameRows([...q3.rows].reverse(), expected);
    expect(() => expectSameRows(q3.rows.slice(1), expected)).toThrow(/Missing \(1\)/);
  }, 600_000);
});

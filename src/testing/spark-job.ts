/**
 * Run one job on a real local Spark against fixture data, and compare its output with expected rows
 * regardless of their order: the unit test of a Spark job, as users write it for their pipelines.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminal, type SubmissionStatus } from '../adapters/adapter.js';
import { sparkpilotPythonDir } from '../adapters/spark-session.js';
import { sparkSubmitAdapter } from '../adapters/spark-submit.js';

/** How to read a job's output into rows. */
export type SparkJobOutput =
  /** A directory (or file) of JSON Lines, as `df.write.json` writes. */
  | { path: string; format: 'json' }
  /** CSV with a header row, as `df.write.option('header', True).csv` writes; every value is a string. */
  | { path: string; format: 'csv' }
  /** Parquet, read through PySpark (`python` must have it). */
  | { path: string; format: 'parquet' }
  /** One JSON document; rows at `pointer` (e.g. `'rows'`), or the document itself when it is an array. */
  | { path: string; format: 'json-document'; pointer?: string };

/** Options of {@link runSparkJob}. */
export interface SparkJobTestOptions {
  /** The job's file (`.py`), or `{ className, jar }`. */
  application: { file: string } | { className: string; jar: string };
  args?: string[];
  /** Spark properties; `spark.ui.enabled=false` and small shuffle partitions are added unless given. */
  properties?: Record<string, string>;
  /** Default `process.env.SPARK_HOME`. */
  sparkHome?: string;
  /** PYSPARK_PYTHON (default `process.env.PYSPARK_PYTHON`, else `python3`). */
  python?: string;
  /** Default `local[2]`. */
  master?: string;
  /** Extra `--py-files`; sparkpilot's own `sparkpilot_job.py` is always added. */
  pyFiles?: string[];
  /** What to read once the job has succeeded. */
  output?: SparkJobOutput;
  /** Default 10 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What {@link runSparkJob} saw. */
export interface SparkJobResult {
  status: SubmissionStatus;
  /** The output's rows (empty without `output`). */
  rows: Record<string, unknown>[];
  /** The tail of the driver's log. */
  log: string;
  durationMs: number;
}

async function files(path: string, ext: RegExp): Promise<string[]> {
  if (!existsSync(path)) throw new Error(`[sparkpilot] [testing] the job wrote no output at ${path}.`);
  const names = await readdir(path).catch(() => undefined);
  if (!names) return [path];
  return names
    .filter((n) => !n.startsWith('.') && !n.startsWith('_') && ext.test(n))
    .sort()
    .map((n) => join(path, n));
}

function parseCsv(text: string): Record<string, unknown>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  const [header, ...body] = rows.filter((r) => r.length > 1 || r[0] !== '');
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

function runPython(python: string, code: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, ['-c', code, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`[sparkpilot] [testing] reading parquet failed: ${err.slice(-2000)}`)),
    );
  });
}

/** Read a job's output as rows. */
export async function readSparkOutput(
  output: SparkJobOutput,
  options: { python?: string; sparkHome?: string } = {},
): Promise<Record<string, unknown>[]> {
  switch (output.format) {
    case 'json': {
      const out: Record<string, unknown>[] = [];
      for (const f of await files(output.path, /\.json$/)) {
        for (const line of (await readFile(f, 'utf8')).split('\n'))
          if (line.trim()) out.push(JSON.parse(line));
      }
      return out;
    }
    case 'csv': {
      const out: Record<string, unknown>[] = [];
      for (const f of await files(output.path, /\.csv$/)) out.push(...parseCsv(await readFile(f, 'utf8')));
      return out;
    }
    case 'json-document': {
      const doc = JSON.parse(await readFile(output.path, 'utf8')) as unknown;
      const at = output.pointer ? (doc as Record<string, unknown>)[output.pointer] : doc;
      if (!Array.isArray(at)) {
        throw new Error(
          `[sparkpilot] [testing] ${output.path}: ${output.pointer ?? 'the document'} is not an array of rows.`,
        );
      }
      return at as Record<string, unknown>[];
    }
    case 'parquet': {
      const python = options.python ?? process.env.PYSPARK_PYTHON ?? 'python3';
      const code = [
        'import json, sys',
        'from pyspark.sql import SparkSession',
        "s = SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false').getOrCreate()",
        'for r in s.read.parquet(sys.argv[1]).toJSON().collect(): print(r)',
        's.stop()',
      ].join('\n');
      const env = { ...process.env, ...(options.sparkHome ? { SPARK_HOME: options.sparkHome } : {}) };
      const text = await runPython(python, code, [output.path], env);
      return text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    }
  }
}

/**
 * Submit one job to a local Spark (client mode, `local[2]` by default) with sparkpilot's `spark-submit`
 * adapter, wait for it, and read its output.
 *
 * @example
 * ```ts
 * const { status, rows } = await runSparkJob({
 *   application: { file: 'jobs/q3_sales_by_category.py' },
 *   args: ['--clean', fixtureDir, '--out', out, '--end', '2025-06-10T00:00:00Z'],
 *   output: { path: join(out, 'q3.json'), format: 'json-document', pointer: 'rows' },
 * });
 * expect(status.state).toBe('SUCCEEDED');
 * expectSameRows(rows, [{ category: 'books', sales: '1234.50' }, { category: 'toys', sales: '99.00' }]);
 * ```
 */
export async function runSparkJob(options: SparkJobTestOptions): Promise<SparkJobResult> {
  const stateDir = await mkdtemp(join(tmpdir(), 'sparkpilot-spark-job-'));
  const python = options.python ?? process.env.PYSPARK_PYTHON ?? 'python3';
  const pyFiles = [join(sparkpilotPythonDir(), 'sparkpilot_job.py'), ...(options.pyFiles ?? [])];
  const adapter = sparkSubmitAdapter({
    ...(options.sparkHome ? { sparkHome: options.sparkHome } : {}),
    master: options.master ?? 'local[2]',
    stateDir,
    env: { PYSPARK_PYTHON: python, PYSPARK_DRIVER_PYTHON: python },
    submitArgs: ['--py-files', pyFiles.join(',')],
    pollMs: 200,
  });
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 600_000);
  try {
    const submission = await adapter.submit(
      {
        submissionKey: `sparkpilot-test-${started}-${Math.random().toString(36).slice(2)}`,
        name: 'sparkpilot-test-job',
        application: options.application,
        args: options.args ?? [],
        properties: {
          'spark.ui.enabled': 'false',
          'spark.sql.shuffle.partitions': '4',
          ...options.properties,
        },
      },
      options.signal ? { signal: options.signal } : {},
    );
    let status = await adapter.status(submission.submissionId);
    while (!isTerminal(status.state)) {
      if (Date.now() > deadline) {
        await adapter.cancel?.(submission.submissionId);
        throw new Error(
          `[sparkpilot] [testing] the job did not finish within ${options.timeoutMs ?? 600_000} ms.`,
        );
      }
      options.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, 200));
      status = await adapter.status(submission.submissionId);
    }
    const log = adapter.logs ? await adapter.logs(submission.submissionId) : '';
    const rows =
      status.state === 'SUCCEEDED' && options.output
        ? await readSparkOutput(options.output, {
            python,
            ...(options.sparkHome ? { sparkHome: options.sparkHome } : {}),
          })
        : [];
    return { status, rows, log, durationMs: Date.now() - started };
  } finally {
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  }
}

const canonical = (v: unknown): string => {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
};

/** How two row sets differ: rows only in `actual`, and rows only in `expected` (each as often as it is extra). */
export interface RowsDifference {
  unexpected: Record<string, unknown>[];
  missing: Record<string, unknown>[];
}

/** Compare rows as multisets (order ignored, duplicates counted); `undefined` when they are the same. */
export function diffRows(
  actual: readonly Record<string, unknown>[],
  expected: readonly Record<string, unknown>[],
): RowsDifference | undefined {
  const counts = new Map<string, { row: Record<string, unknown>; n: number }>();
  for (const r of expected) {
    const k = canonical(r);
    const c = counts.get(k) ?? { row: r, n: 0 };
    c.n++;
    counts.set(k, c);
  }
  const unexpected: Record<string, unknown>[] = [];
  for (const r of actual) {
    const c = counts.get(canonical(r));
    if (c && c.n > 0) c.n--;
    else unexpected.push(r);
  }
  const missing: Record<string, unknown>[] = [];
  for (const c of counts.values()) for (let i = 0; i < c.n; i++) missing.push(c.row);
  return unexpected.length === 0 && missing.length === 0 ? undefined : { unexpected, missing };
}

/** Throws, listing the differing rows, unless `actual` and `expected` hold the same rows in any order. */
export function expectSameRows(
  actual: readonly Record<string, unknown>[],
  expected: readonly Record<string, unknown>[],
): void {
  const d = diffRows(actual, expected);
  if (!d) return;
  const show = (rows: Record<string, unknown>[]) =>
    rows
      .slice(0, 10)
      .map((r) => `  ${canonical(r)}`)
      .join('\n') + (rows.length > 10 ? `\n  ... ${rows.length - 10} more` : '');
  throw new Error(
    `[sparkpilot] [testing] rows differ (${actual.length} actual, ${expected.length} expected).\n` +
      (d.unexpected.length ? `Not expected (${d.unexpected.length}):\n${show(d.unexpected)}\n` : '') +
      (d.missing.length ? `Missing (${d.missing.length}):\n${show(d.missing)}` : ''),
  );
}

/**
 * The `sparkpilot` command line.
 * @module
 * @internal
 */

import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { eventLogCollector } from '../collect/event-log/collector.js';
import { loadConfig } from '../config/config.js';
import { SparkpilotError } from '../errors.js';
import { formatBytes, summarizeAttempt } from './format.js';
import { addStoreCommands } from './store-commands.js';
import { addTuneCommands } from './tune-commands.js';

const VERSION = '0.1.0';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return n;
}

async function inspect(
  paths: string[],
  opts: { json?: boolean; workers?: number; progress?: boolean; config?: string },
) {
  const config = loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    overrides: opts.workers !== undefined ? { eventLog: { workers: opts.workers } } : {},
  });
  const collector = eventLogCollector({
    workers: config.eventLog.workers,
    maxLineBytes: config.eventLog.maxLineBytes,
    exactQuantileValues: config.eventLog.exactQuantileValues,
  });
  const controller = new AbortController();
  const onSignal = () => controller.abort(new SparkpilotError('SPARKPILOT_ABORTED', 'Interrupted.'));
  process.once('SIGINT', onSignal);
  const showProgress = opts.progress !== false && process.stderr.isTTY && config.logLevel !== 'silent';
  const bar = showProgress
    ? new cliProgress.SingleBar(
        {
          format: 'reading {bar} {value}/{total} logs | {bytes} | {current}',
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  try {
    const result = await collector.collect(paths, {
      signal: controller.signal,
      onProgress: (p) => {
        if (!bar) return;
        const payload = { bytes: formatBytes(p.bytes), current: (p.current ?? '').slice(-40) };
        if (!started) {
          bar.start(p.total, p.done, payload);
          started = true;
        } else bar.update(p.done, payload);
      },
    });
    bar?.stop();
    if (opts.json) {
      const doc = {
        applications: result.applications.map(({ warnings: _w, ...m }) => m),
        warnings: result.warnings,
        failures: result.failures.map((f) => ({
          source: f.source,
          code: f.error.code,
          message: f.error.message,
        })),
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      const out: string[] = [];
      for (const m of result.applications) out.push(summarizeAttempt(m), '');
      const skipped = result.warnings.filter((w) => w.code === 'skipped-file');
      if (skipped.length)
        out.push(`skipped ${skipped.length} file(s) that are not Spark event logs (use --json to list them)`);
      out.push(
        `${result.applications.length} application attempt(s) read${result.failures.length ? `, ${result.failures.length} source(s) failed` : ''}.`,
      );
      process.stdout.write(`${out.join('\n')}\n`);
    }
    for (const f of result.failures) process.stderr.write(`${f.error.message}\n`);
    return result.failures.length > 0 ? 1 : 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
  }
}

/** Build the CLI program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('sparkpilot')
    .description('Collect, analyze and tune Apache Spark applications.')
    .version(VERSION)
    .showHelpAfterError();
  program
    .command('inspect')
    .description('Summarize Spark event logs: files, folders of many logs, rolling logs, zips.')
    .argument('<paths...>', 'event log files or folders')
    .option('--json', 'print one JSON document in the History Server REST shapes')
    .option('-w, --workers <n>', 'worker threads (0 = one per core)', positiveInt)
    .option('--no-progress', 'do not show a progress bar')
    .option('-c, --config <file>', 'a sparkpilot.config.json file')
    .action(async (paths: string[], opts) => {
      process.exitCode = await inspect(paths, opts);
    });
  addStoreCommands(program);
  addTuneCommands(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof SparkpilotError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

void main();

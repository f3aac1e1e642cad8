/**
 * The CLI's tuning commands: `analyze`, `recommend`, `feedback`.
 * @module
 * @internal
 */
import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Analysis } from '../analyze/analyzer.js';
import { eventLogCollector } from '../collect/event-log/collector.js';
import { SparkpilotError } from '../errors.js';
import type { Recommendation } from '../recommend/recommender.js';
import { createTuner } from '../recommend/tuner.js';
import { openStore } from '../store/knex/connect.js';
import { formatDuration } from './format.js';
import { type Common, duration, settings, table } from './store-commands.js';

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return n;
}

/** A readable analysis: efficiency, then findings worst first with their evidence and advice. */
export function formatAnalysis(a: Analysis): string {
  const e = a.efficiency;
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const out = [
    `${a.appId}${a.attemptId ? ` attempt ${a.attemptId}` : ''}: ${a.findings.length} finding(s), worst ${a.severity}`,
    `  wall clock ${formatDuration(e.wallClockMs)} (driver ${formatDuration(e.driverWallClockMs)}, executors ${formatDuration(e.executorWallClockMs)}); critical path ${formatDuration(e.criticalPathMs)}; ideal with these executors ${formatDuration(e.idealMs)}`,
    `  ${e.executors} executor(s), ${e.maxSlots} slot(s) at most; core-hours: ${e.coreHoursAvailable.toFixed(3)} available, ${e.coreHoursUsed.toFixed(3)} used, ${e.coreHoursWasted.toFixed(3)} wasted (${pct(e.coreUtilization)} used)`,
  ];
  for (const f of a.findings) {
    out.push('', `  [${f.severity}] ${f.id}: ${f.title}`, `    ${f.summary}`);
    const ids = [
      f.evidence.stageIds?.length ? `stages ${f.evidence.stageIds.slice(0, 10).join(', ')}` : '',
      f.evidence.executorIds?.length ? `executors ${f.evidence.executorIds.slice(0, 10).join(', ')}` : '',
    ].filter(Boolean);
    if (ids.length) out.push(`    on ${ids.join('; ')}`);
    for (const advice of f.advice) out.push(`    - ${advice}`);
    if (f.properties) for (const [k, v] of Object.entries(f.properties)) out.push(`      --conf ${k}=${v}`);
  }
  return out.join('\n');
}

/** A recommendation as `--format` asks: a table, JSON, spark-submit flags, or a properties file. */
export function formatRecommendation(r: Recommendation, format: string): string {
  if (format === 'json') return JSON.stringify(r, null, 2);
  if (format === 'spark-submit') {
    return Object.entries(r.properties)
      .map(([k, v]) => `--conf ${k}=${v}`)
      .join(' \\\n  ');
  }
  if (format === 'properties') {
    return [
      `# sparkpilot ${r.id} (${r.recommender}, confidence ${r.confidence.toFixed(2)})`,
      ...Object.entries(r.properties).map(([k, v]) => `${k} ${v}`),
    ].join('\n');
  }
  const p = r.prediction;
  const money = (x: number) => x.toFixed(x < 1 ? 4 : 2);
  const rows = [
    ['executors', 'cores', 'memory', 'overhead', 'predicted time', 'cost'],
    ...[{ settings: r.settings, prediction: p }, ...r.alternatives].map((c) => [
      String(c.settings.executors),
      String(c.settings.coresPerExecutor),
      `${c.settings.executorMemoryMb} MiB`,
      `${c.settings.memoryOverheadMb} MiB`,
      `${formatDuration(c.prediction.durationMs.value)} (${formatDuration(c.prediction.durationMs.low)} to ${formatDuration(c.prediction.durationMs.high)})`,
      `${money(c.prediction.cost.value)} (${money(c.prediction.cost.low)} to ${money(c.prediction.cost.high)})`,
    ]),
  ];
  return [
    `${r.id} for job "${r.jobKey}" (${r.recommender}, objective ${r.objective}), confidence ${r.confidence.toFixed(2)}`,
    ...r.basis.reasons.map((x) => `  ${x}`),
    ...r.notes.map((x) => `  ${x}`),
    '',
    'recommended first, then the other settings on the time-against-cost front:',
    table(rows),
    '',
    ...Object.entries(r.properties).map(([k, v]) => `--conf ${k}=${v}`),
  ].join('\n');
}

/** Add `analyze`, `recommend` and `feedback` to the program. */
export function addTuneCommands(program: Command): void {
  const withStore = async <T>(opts: Common, run: (tuner: ReturnType<typeof createTuner>) => Promise<T>) => {
    const config = settings(opts);
    const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix });
    try {
      return await run(
        createTuner(store, {
          pricing: { corePerHour: config.tuning.pricePerCoreHour, gbPerHour: config.tuning.pricePerGbHour },
          maxExecutors: config.tuning.maxExecutors,
        }),
      );
    } finally {
      await store.close();
    }
  };

  program
    .command('analyze')
    .description('Find what slowed or wasted an application: a stored app id, or event log paths.')
    .argument('<appIdOrPath>', 'a stored application id, or an event log file or folder')
    .option('--attempt <id>', 'the attempt (default: the newest)')
    .option('--json', 'print the analysis as JSON')
    .option('--db <url>', 'database URL (default from config: sqlite:./sparkpilot.db)')
    .option('-c, --config <file>', 'a sparkpilot.config.json file')
    .action(async (target: string, opts: Common & { attempt?: string; json?: boolean }) => {
      let analyses: Analysis[];
      if (existsSync(target)) {
        const result = await eventLogCollector().collect(target);
        for (const f of result.failures) process.stderr.write(`${f.error.message}\n`);
        if (result.applications.length === 0) {
          process.exitCode = 1;
          return;
        }
        const { jobAnalyzer } = await import('../analyze/job-analyzer.js');
        const analyzer = jobAnalyzer();
        analyses = [];
        for (const m of result.applications) analyses.push(await analyzer.analyze(m));
      } else {
        analyses = [await withStore(opts, (t) => t.analyze(target, opts.attempt))];
      }
      process.stdout.write(
        `${opts.json ? JSON.stringify(analyses.length === 1 ? analyses[0] : analyses, null, 2) : analyses.map(formatAnalysis).join('\n\n')}\n`,
      );
    });

  program
    .command('recommend')
    .description('Recommend executors, cores and memory for a recurring job, with predicted time and cost.')
    .requiredOption('--job <name>', 'the job: its application name or recurring-job key')
    .addOption(
      new Option('--objective <o>', 'what to optimize')
        .choices(['cost', 'time', 'balanced'])
        .default('balanced'),
    )
    .option('--deadline <duration>', 'finish within (90s, 20m, 2h)', duration)
    .option('--budget <amount>', 'spend at most (in the pricing currency)', number)
    .addOption(
      new Option('--format <f>', 'output')
        .choices(['table', 'json', 'spark-submit', 'properties'])
        .default('table'),
    )
    .option('--db <url>', 'database URL (default from config: sqlite:./sparkpilot.db)')
    .option('-c, --config <file>', 'a sparkpilot.config.json file')
    .action(
      async (
        opts: Common & {
          job: string;
          objective: 'cost' | 'time' | 'balanced';
          deadline?: number;
          budget?: number;
          format: string;
        },
      ) => {
        const rec = await withStore(opts, (t) =>
          t.recommend(opts.job, {
            objective: opts.objective,
            ...(opts.deadline !== undefined ? { deadlineMs: opts.deadline } : {}),
            ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
          }),
        );
        process.stdout.write(`${formatRecommendation(rec, opts.format)}\n`);
      },
    );

  program
    .command('feedback')
    .description('Tell sparkpilot how a recommendation went: the run that used it, or a rating.')
    .argument('<recommendationId>', 'the id a recommendation printed')
    .option('--app <appId>', 'the stored run that used the recommendation')
    .option('--attempt <id>', 'its attempt (default: the newest)')
    .option('--rating <1-5>', 'how it went, 1 (bad) to 5 (good)', number)
    .option('--comment <text>', 'a note kept with the feedback')
    .option('--db <url>', 'database URL (default from config: sqlite:./sparkpilot.db)')
    .option('-c, --config <file>', 'a sparkpilot.config.json file')
    .action(
      async (
        id: string,
        opts: Common & { app?: string; attempt?: string; rating?: number; comment?: string },
      ) => {
        if (opts.app === undefined && opts.rating === undefined) {
          throw new SparkpilotError(
            'SPARKPILOT_CONFIG_INVALID',
            'feedback needs --app <appId> (the run that used the recommendation) or --rating <1-5>.',
          );
        }
        const extra = {
          ...(opts.rating !== undefined ? { rating: opts.rating } : {}),
          ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
        };
        const record = await withStore(opts, (t) =>
          t.feedback(
            id,
            opts.app !== undefined
              ? {
                  appId: opts.app,
                  ...(opts.attempt !== undefined ? { attemptId: opts.attempt } : {}),
                  ...extra,
                }
              : { rating: opts.rating!, ...extra },
          ),
        );
        const line =
          record.observedMs !== undefined
            ? `recorded: predicted ${formatDuration(record.predictedMs)}, observed ${formatDuration(record.observedMs)} (${((record.observedMs / record.predictedMs - 1) * 100).toFixed(0)}%)`
            : `recorded: rating ${record.rating}`;
        process.stdout.write(`${line}\n`);
      },
    );
}

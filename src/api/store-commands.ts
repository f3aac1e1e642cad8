/**
 * The CLI's storage commands: `ingest`, `apps list`, `apps show`, `db migrate|status|rollback`.
 * @module
 * @internal
 */
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/config.js';
import { SparkpilotError } from '../errors.js';
import { createTuner } from '../recommend/tuner.js';
import { ingestEventLogs } from '../store/ingest.js';
import { openStore } from '../store/knex/connect.js';
import { migrationStatus, rollback } from '../store/knex/migrate.js';
import type { ApplicationQuery, ApplicationSort, AttemptStatus } from '../store/repository.js';
import { formatBytes, formatDuration, summarizeAttempt } from './format.js';

/** Options every store command takes. */
export interface Common {
  db?: string;
  config?: string;
}

/** The configuration with `--config` and `--db` applied. */
export function settings(opts: Common) {
  const config = loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    overrides: opts.db ? { db: { url: opts.db } } : {},
  });
  return config;
}

function time(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      `expected a date (2026-11-21, 2026-11-21T10:00Z) or epoch ms, got "${value}"`,
    );
  return t;
}

/** A duration option (`90s`, `5m`, `2h`, ms). */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration like 90s, 5m, 2h or ms, got "${value}"`);
  const k = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Math.round(Number(m[1]) * k);
}

function whole(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Adds the storage commands to the program. */
export function addStoreCommands(program: Command): void {
  const dbOption = (c: Command) =>
    c
      .option('--db <url>', 'database URL (default sqlite:./sparkpilot.db, or SPARKPILOT_DB_URL)')
      .option('-c, --config <file>', 'a sparkpilot.config.json file');

  dbOption(
    program
      .command('ingest')
      .description('Read event logs and store every application attempt; unchanged logs are skipped.')
      .argument('<paths...>', 'event log files or folders')
      .option('-w, --workers <n>', 'parallel parsers (0 = one per core)', whole)
      .option('--force', 'read every log even if its files did not change')
      .option('--tag <tag>', 'store this tag with every attempt (repeatable)', collect)
      .option('--no-progress', 'do not show a progress bar'),
  ).action(
    async (
      paths: string[],
      opts: Common & { workers?: number; force?: boolean; tag?: string[]; progress?: boolean },
    ) => {
      const config = settings(opts);
      const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix });
      const bar =
        opts.progress !== false && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format: 'ingesting {bar} {value}/{total} logs | {bytes} | stored {stored}, skipped {skipped}',
                stream: process.stderr,
                clearOnComplete: true,
                hideCursor: true,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const controller = new AbortController();
      const onSignal = () => controller.abort(new SparkpilotError('SPARKPILOT_ABORTED', 'Interrupted.'));
      process.once('SIGINT', onSignal);
      try {
        const report = await ingestEventLogs(store, paths, {
          workers: opts.workers ?? config.eventLog.workers,
          ...(opts.force ? { force: true } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          signal: controller.signal,
          onProgress: (p) => {
            if (!bar) return;
            const payload = { bytes: formatBytes(p.bytes), stored: p.stored, skipped: p.skipped };
            if (!started) {
              bar.start(p.total, p.done, payload);
              started = true;
            } else bar.update(p.done, payload);
          },
        });
        bar?.stop();
        // Feature vectors of what was stored, so that later similarity searches need not read the models.
        if (report.new + report.updated > 0) {
          await createTuner(store).refreshFeatures({ signal: controller.signal });
        }
        const lines = [
          `new ${report.new}, updated ${report.updated}, unchanged ${report.unchanged}, skipped ${report.skipped} (files unchanged since the last ingest), failed ${report.failed.length}`,
          `read ${formatBytes(report.bytes)} into ${config.db.url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@')}`,
        ];
        for (const f of report.failed) lines.push(`failed: ${f.message}`);
        process.stdout.write(`${lines.join('\n')}\n`);
        process.exitCode = report.failed.length ? 1 : 0;
      } finally {
        bar?.stop();
        process.off('SIGINT', onSignal);
        await store.close();
      }
    },
  );

  const apps = program.command('apps').description('Query stored application attempts.');
  dbOption(
    apps
      .command('list')
      .description('List stored attempts, newest first, with filters.')
      .option('--app-id <id>')
      .option('--name <name>', 'exact application name')
      .option('--name-prefix <prefix>')
      .option('--job-key <key>', 'recurring-job key (the name with dates and numbers normalized)')
      .option('--user <user>')
      .option('--status <status>', 'incomplete, succeeded or failed (repeatable)', collect)
      .option('--queue <queue>')
      .option('--cluster <cluster>')
      .option('--tag <tag>', 'attempts with this tag (repeatable)', collect)
      .option('--since <time>', 'started at or after (date or epoch ms)', time)
      .option('--until <time>', 'started before (date or epoch ms)', time)
      .option('--min-duration <d>', 'e.g. 90s, 5m', duration)
      .option('--max-duration <d>', 'e.g. 2h', duration)
      .option('--sort <field>', 'startTime, endTime, duration or name', 'startTime')
      .option('--asc', 'ascending order')
      .option('--limit <n>', 'page size (1..1000)', whole, 50)
      .option('--cursor <cursor>', 'the next-page cursor a previous call printed')
      .option('--json', 'print JSON'),
  ).action(async (opts: Common & Record<string, unknown>) => {
    const config = settings(opts);
    const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix });
    try {
      const q: ApplicationQuery = {
        sort: opts.sort as ApplicationSort,
        order: opts.asc ? 'asc' : 'desc',
        limit: opts.limit as number,
      };
      const map: [string, keyof ApplicationQuery][] = [
        ['appId', 'appId'],
        ['name', 'name'],
        ['namePrefix', 'namePrefix'],
        ['jobKey', 'jobKey'],
        ['user', 'sparkUser'],
        ['queue', 'queue'],
        ['cluster', 'cluster'],
        ['tag', 'tags'],
        ['since', 'startedAfter'],
        ['until', 'startedBefore'],
        ['minDuration', 'minDuration'],
        ['maxDuration', 'maxDuration'],
        ['cursor', 'cursor'],
      ];
      for (const [from, to] of map)
        if (opts[from] !== undefined) (q as Record<string, unknown>)[to] = opts[from];
      if (opts.status) q.status = opts.status as AttemptStatus[];
      const page = await store.applications.list(q);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        return;
      }
      const rows = [['APP ID', 'ATTEMPT', 'NAME', 'STATUS', 'STARTED', 'DURATION', 'TASKS', 'FAILED']];
      for (const a of page.items) {
        rows.push([
          a.appId,
          a.attemptId || '-',
          a.name.length > 40 ? `${a.name.slice(0, 39)}…` : a.name,
          a.status,
          a.startTime > 0 ? new Date(a.startTime).toISOString().replace(/\.\d+Z$/, 'Z') : '-',
          a.status === 'incomplete' ? '-' : formatDuration(a.duration),
          String(a.numTasks),
          String(a.numFailedTasks),
        ]);
      }
      process.stdout.write(`${table(rows)}\n`);
      if (page.items.length === 0) process.stdout.write('(no application attempts match)\n');
      if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
    } finally {
      await store.close();
    }
  });
  dbOption(
    apps
      .command('show')
      .description('Show one stored attempt with everything about it.')
      .argument('<appId>')
      .option('--attempt <id>', 'the attempt id (default: the latest attempt)')
      .option('--json', 'print the whole model as JSON'),
  ).action(async (appId: string, opts: Common & { attempt?: string; json?: boolean }) => {
    const config = settings(opts);
    const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix });
    try {
      const model = await store.applications.get(appId, opts.attempt);
      if (!model) {
        process.stderr.write(
          `[sparkpilot] no stored application ${appId}${opts.attempt ? ` attempt ${opts.attempt}` : ''}. List them with: sparkpilot apps list\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(
        opts.json ? `${JSON.stringify(model, null, 2)}\n` : `${summarizeAttempt(model)}\n`,
      );
    } finally {
      await store.close();
    }
  });

  const db = program.command('db').description('Manage the sparkpilot schema in the database.');
  dbOption(db.command('migrate').description('Apply pending migrations.')).action(async (opts: Common) => {
    const config = settings(opts);
    const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix, migrate: false });
    try {
      const before = await migrationStatus(store.knex, { tablePrefix: config.db.tablePrefix });
      const { migrate } = await import('../store/knex/migrate.js');
      const { applied } = await migrate(store.knex, { tablePrefix: config.db.tablePrefix });
      process.stdout.write(
        applied.length ? `applied: ${applied.join(', ')}\n` : `up to date (${before.current ?? 'empty'})\n`,
      );
    } finally {
      await store.close();
    }
  });
  dbOption(db.command('status').description('Show applied and pending migrations.')).action(
    async (opts: Common) => {
      const config = settings(opts);
      const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix, migrate: false });
      try {
        const s = await migrationStatus(store.knex, { tablePrefix: config.db.tablePrefix });
        process.stdout.write(
          `applied: ${s.applied.join(', ') || '(none)'}\npending: ${s.pending.join(', ') || '(none)'}\n`,
        );
      } finally {
        await store.close();
      }
    },
  );
  dbOption(
    db
      .command('rollback')
      .description('Undo the last batch of migrations.')
      .option('--all', 'undo every migration'),
  ).action(async (opts: Common & { all?: boolean }) => {
    const config = settings(opts);
    const store = await openStore(config.db.url, { tablePrefix: config.db.tablePrefix, migrate: false });
    try {
      const r = await rollback(store.knex, { tablePrefix: config.db.tablePrefix, all: opts.all ?? false });
      process.stdout.write(
        r.rolledBack.length ? `rolled back: ${r.rolledBack.join(', ')}\n` : 'nothing to roll back\n',
      );
    } finally {
      await store.close();
    }
  });
}

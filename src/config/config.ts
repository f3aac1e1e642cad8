/**
 * Layered configuration: defaults < config file < `SPARKPILOT_*` environment < runtime options.
 *
 * Every layer is validated with one zod schema; an invalid value throws a {@link ConfigError} naming the key,
 * the layer it came from, and the expected value. The result is frozen.
 *
 * Environment variables are derived from the key path: `eventLog.workers` is `SPARKPILOT_EVENT_LOG_WORKERS`,
 * `db.url` is `SPARKPILOT_DB_URL`. The config file is JSON (`sparkpilot.config.json` in the working
 * directory, or the path in `SPARKPILOT_CONFIG`, or the `file` option).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { formatZodIssues } from '../util/zod.js';

/** The schema of sparkpilot's configuration. */
export const configSchema = z
  .object({
    /** Where sparkpilot stores what it collects. */
    db: z
      .object({
        /** `sqlite:./sparkpilot.db` (default), `postgres://...` or `mysql://...`. */
        url: z.string().min(1).default('sqlite:./sparkpilot.db'),
        /** Prefix of every table sparkpilot creates. */
        tablePrefix: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a SQL identifier prefix like "sparkpilot_"')
          .default('sparkpilot_'),
      })
      .strict()
      .default({ url: 'sqlite:./sparkpilot.db', tablePrefix: 'sparkpilot_' }),
    /** Event-log collection. */
    eventLog: z
      .object({
        /** Parallel parsers for many logs (the calling thread plus worker threads); 0 = one per core. */
        workers: z.number().int().min(0).max(256).default(0),
        /** A line longer than this (bytes, decompressed) is skipped with a warning. */
        maxLineBytes: z
          .number()
          .int()
          .min(1024)
          .default(512 * 1024 * 1024),
        /** Values kept exactly per stage and metric before switching to a bounded quantile sketch. */
        exactQuantileValues: z.number().int().min(16).max(1_000_000).default(2048),
      })
      .strict()
      .default({ workers: 0, maxLineBytes: 512 * 1024 * 1024, exactQuantileValues: 2048 }),
    /** Recommendations: prices and limits. */
    tuning: z
      .object({
        /** Price of one executor core for one hour (any currency; costs are reported in it). */
        pricePerCoreHour: z.number().min(0).default(0.04),
        /** Price of one GB of executor memory (heap plus overhead) for one hour. */
        pricePerGbHour: z.number().min(0).default(0.005),
        /** The most executors a recommendation may ask for. */
        maxExecutors: z.number().int().min(1).max(10_000).default(64),
      })
      .strict()
      .default({ pricePerCoreHour: 0.04, pricePerGbHour: 0.005, maxExecutors: 64 }),
    /** How much the CLI prints. */
    logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
  })
  .strict();

/** Fully resolved configuration (every default applied). */
export type SparkpilotConfig = z.output<typeof configSchema>;

/** A partial configuration, as written in a file or passed at run time. */
export type SparkpilotConfigInput = {
  [K in keyof SparkpilotConfig]?: SparkpilotConfig[K] extends object
    ? Partial<SparkpilotConfig[K]>
    : SparkpilotConfig[K];
};

/** Where the configuration comes from. */
export interface LoadConfigOptions {
  /** A JSON config file. Defaults to `$SPARKPILOT_CONFIG`, else `./sparkpilot.config.json` if present. */
  file?: string;
  /** The environment to read `SPARKPILOT_*` variables from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Runtime options: the highest layer. */
  overrides?: SparkpilotConfigInput;
  /** The directory relative paths are resolved against. Defaults to `process.cwd()`. */
  cwd?: string;
}

type Leaf = { path: string[]; env: string; kind: 'string' | 'number' | 'boolean' | 'enum' };

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

function envName(path: string[]): string {
  return `SPARKPILOT_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

function leaves(schema: z.ZodType, path: string[] = []): Leaf[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  const kind =
    s instanceof z.ZodNumber
      ? 'number'
      : s instanceof z.ZodBoolean
        ? 'boolean'
        : s instanceof z.ZodEnum
          ? 'enum'
          : 'string';
  return [{ path, env: envName(path), kind }];
}

/** Every environment variable sparkpilot reads, with the config key it sets. */
export const configEnvironmentVariables: ReadonlyArray<{ variable: string; key: string }> = leaves(
  configSchema,
).map((l) => ({ variable: l.env, key: l.path.join('.') }));

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let t = target;
  for (const p of path.slice(0, -1)) {
    const next = t[p];
    t = (next && typeof next === 'object' ? next : (t[p] = {})) as Record<string, unknown>;
  }
  t[path[path.length - 1]!] = value;
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (!over) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function validateLayer(layer: string, value: unknown): void {
  // Validate a layer on its own so the error names where a bad value came from.
  const r = configSchema.safeParse(value);
  if (!r.success) {
    throw new ConfigError(
      'SPARKPILOT_CONFIG_INVALID',
      `Invalid configuration in ${layer}: ${formatZodIssues(r.error, value)}. Fix the value (see docs/configuration.md).`,
      { cause: r.error },
    );
  }
}

function fromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const leaf of leaves(configSchema)) {
    const raw = env[leaf.env];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (leaf.kind === 'number') {
      value = Number(raw);
      if (!Number.isFinite(value as number)) {
        throw new ConfigError(
          'SPARKPILOT_CONFIG_INVALID',
          `Invalid configuration in environment variable ${leaf.env}: expected a number for ${leaf.path.join('.')}, got ${JSON.stringify(raw)}.`,
        );
      }
    } else if (leaf.kind === 'boolean') {
      if (!/^(true|false|1|0)$/i.test(raw)) {
        throw new ConfigError(
          'SPARKPILOT_CONFIG_INVALID',
          `Invalid configuration in environment variable ${leaf.env}: expected true or false for ${leaf.path.join('.')}, got ${JSON.stringify(raw)}.`,
        );
      }
      value = /^(true|1)$/i.test(raw);
    }
    setPath(out, leaf.path, value);
  }
  return out;
}

function fromFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'SPARKPILOT_CONFIG_FILE',
      `Cannot read config file ${file}: ${(cause as Error).message}. Check the path (or unset SPARKPILOT_CONFIG).`,
      { cause },
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('expected a JSON object');
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      'SPARKPILOT_CONFIG_FILE',
      `Config file ${file} is not a JSON object: ${(cause as Error).message}. Write it as {"db": {"url": "..."}}.`,
      { cause },
    );
  }
}

/**
 * Resolve the configuration from its layers: defaults < file < `SPARKPILOT_*` environment < overrides.
 *
 * @example
 * ```ts
 * const config = loadConfig({ overrides: { eventLog: { workers: 2 } } });
 * config.db.url; // 'sqlite:./sparkpilot.db' unless a file or SPARKPILOT_DB_URL says otherwise
 * ```
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<SparkpilotConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let file = options.file ?? env.SPARKPILOT_CONFIG;
  if (!file) {
    const candidate = resolve(cwd, 'sparkpilot.config.json');
    if (existsSync(candidate)) file = candidate;
  }
  let layered: Record<string, unknown> = {};
  if (file) {
    const path = resolve(cwd, file);
    const f = fromFile(path);
    validateLayer(`config file ${path}`, f);
    layered = merge(layered, f);
  }
  const e = fromEnv(env);
  validateLayer('the SPARKPILOT_* environment', e);
  layered = merge(layered, e);
  if (options.overrides) {
    validateLayer('runtime options', options.overrides);
    layered = merge(layered, options.overrides as Record<string, unknown>);
  }
  const parsed = configSchema.parse(layered);
  return deepFreeze(parsed);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

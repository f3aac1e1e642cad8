/**
 * One registry of named factories for every extension point: collectors, analyzers, recommenders and
 * submission adapters.
 *
 * The registry lives on `globalThis` under `Symbol.for('sparkpilot.registry')`, so the ESM and CJS builds of
 * sparkpilot (and two copies of the package) share one.
 *
 * Extension authors make their names known to the type checker by declaration merging:
 *
 * @example
 * ```ts
 * import { defineFactory, registerFactory, type Collector } from 'sparkpilot';
 * import { z } from 'zod';
 *
 * const optionsSchema = z.object({ bucket: z.string() });
 * export const s3Collector = defineFactory('s3', optionsSchema, (options): Collector => makeS3Collector(options));
 *
 * declare module 'sparkpilot' {
 *   interface CollectorFactories {
 *     s3: typeof s3Collector;
 *   }
 * }
 * registerFactory('collector', s3Collector);
 * const collector = createFromRegistry('collector', 's3', { bucket: 'logs' }); // typed
 * ```
 * @module
 */
import type { z } from 'zod';
import { ConfigError, RegistryError } from './errors.js';
import { formatZodIssues } from './util/zod.js';

/**
 * A named factory: validates its options once, at the edge, with its zod schema, then builds an instance.
 * Calling it with invalid options throws a {@link ConfigError} that names the key and the expected value.
 */
export interface Factory<Input, Instance> {
  (options?: Input): Instance;
  /** The registry name. */
  readonly factoryName: string;
  /** The zod schema of the options. */
  readonly optionsSchema: z.ZodType;
}

/** The options a factory accepts. */
export type FactoryOptions<F> = F extends Factory<infer I, unknown> ? I : never;
/** What a factory builds. */
// biome-ignore lint/suspicious/noExplicitAny: options are contravariant; any matches every factory
export type FactoryInstance<F> = F extends Factory<any, infer T> ? T : never;

/**
 * Define a factory from a name, an options schema and a builder that receives the parsed, frozen options.
 */
export function defineFactory<S extends z.ZodType, Instance>(
  name: string,
  optionsSchema: S,
  build: (options: Readonly<z.output<S>>) => Instance,
): Factory<z.input<S>, Instance> {
  const factory = ((options?: z.input<S>) => {
    const parsed = optionsSchema.safeParse(options ?? {});
    if (!parsed.success) {
      throw new ConfigError(
        'SPARKPILOT_CONFIG_INVALID',
        `Invalid options for "${name}": ${formatZodIssues(parsed.error)}. Fix the options passed to the "${name}" factory.`,
        { cause: parsed.error },
      );
    }
    return build(Object.freeze(parsed.data) as Readonly<z.output<S>>);
  }) as Factory<z.input<S>, Instance>;
  Object.defineProperties(factory, {
    factoryName: { value: name, enumerable: true },
    optionsSchema: { value: optionsSchema, enumerable: true },
  });
  return factory;
}

/** Collector factories by name. Augment by declaration merging. */
export interface CollectorFactories {
  /** The built-in event-log collector. */
  'event-log': typeof import('./collect/event-log/collector.js').eventLogCollector;
}
/** Analyzer factories by name. Augment by declaration merging. */
export interface AnalyzerFactories {
  /** The built-in analyzer: heuristics and the efficiency report. */
  job: typeof import('./analyze/job-analyzer.js').jobAnalyzer;
}
/** Recommender factories by name. Augment by declaration merging. */
export interface RecommenderFactories {
  /** The default: every predictor the evidence allows, weighted by its measured error. */
  ensemble: typeof import('./recommend/ensemble.js').ensembleRecommender;
  /** Memory rules from peaks and findings; executors from the stage simulator. */
  'rule-based': typeof import('./recommend/rule-based.js').ruleBasedRecommender;
  /** A runtime model fitted per recurring job on its history. */
  model: typeof import('./recommend/model.js').modelRecommender;
  /** How similar jobs scaled. */
  similarity: typeof import('./recommend/similarity.js').similarityRecommender;
}
/** Submission adapter factories by name. Augment by declaration merging. */
export interface AdapterFactories {
  /** Scripted durations and failures, for tests. */
  'in-memory': typeof import('./adapters/in-memory.js').inMemoryAdapter;
  /** Livy batches, or jobs sharing one Livy interactive session. */
  livy: typeof import('./adapters/livy.js').livyAdapter;
  /** Jobs sharing one long-running SparkSession of sparkpilot's own (cached results reused). */
  'spark-session': typeof import('./adapters/spark-session.js').sparkSessionAdapter;
  /** A local Spark installation's spark-submit, any master, client or cluster mode. */
  'spark-submit': typeof import('./adapters/spark-submit.js').sparkSubmitAdapter;
  /** The Spark standalone master's REST submission server. */
  'standalone-rest': typeof import('./adapters/standalone-rest.js').standaloneRestAdapter;
}

/** The kinds of extension point and the factories known for each. */
export interface FactoryKinds {
  collector: CollectorFactories;
  analyzer: AnalyzerFactories;
  recommender: RecommenderFactories;
  adapter: AdapterFactories;
}

/** A kind of extension point. */
export type FactoryKind = keyof FactoryKinds;

/** A factory of any options and instance type, as the registry stores them. */
// biome-ignore lint/suspicious/noExplicitAny: factories of any options and instance type live in one map
export type AnyFactory = Factory<any, unknown>;

const REGISTRY_KEY = Symbol.for('sparkpilot.registry');
const KINDS: readonly FactoryKind[] = ['collector', 'analyzer', 'recommender', 'adapter'];

function store(): Record<FactoryKind, Map<string, AnyFactory>> {
  const g = globalThis as { [REGISTRY_KEY]?: Record<FactoryKind, Map<string, AnyFactory>> };
  let s = g[REGISTRY_KEY];
  if (!s) {
    s = { collector: new Map(), analyzer: new Map(), recommender: new Map(), adapter: new Map() };
    Object.defineProperty(g, REGISTRY_KEY, { value: s, enumerable: false });
  }
  return s;
}

function kindMap(kind: FactoryKind): Map<string, AnyFactory> {
  if (!KINDS.includes(kind)) {
    throw new RegistryError(
      'SPARKPILOT_REGISTRY_UNKNOWN',
      `Unknown registry kind "${String(kind)}". Use one of: ${KINDS.join(', ')}.`,
    );
  }
  return store()[kind];
}

/**
 * Register a factory under its name. Registering the same factory again is a no-op; registering a different
 * factory under a taken name throws unless `{ replace: true }`.
 */
export function registerFactory(
  kind: FactoryKind,
  factory: AnyFactory,
  options: { replace?: boolean } = {},
): void {
  const map = kindMap(kind);
  const existing = map.get(factory.factoryName);
  if (existing && existing !== factory && !options.replace) {
    // The ESM and CJS builds (or two copies of the package) each define the built-ins: keep the first.
    if (isBuiltin(existing) && isBuiltin(factory)) return;
    throw new RegistryError(
      'SPARKPILOT_REGISTRY_DUPLICATE',
      `A ${kind} named "${factory.factoryName}" is already registered. Pick another name or pass { replace: true }.`,
    );
  }
  if (!existing || options.replace) map.set(factory.factoryName, factory);
}

const BUILTIN = Symbol.for('sparkpilot.builtin');

/** Marks a factory as one of sparkpilot's own, so a second copy of the package can register it again. */
export function markBuiltin<F extends AnyFactory>(factory: F): F {
  Object.defineProperty(factory, BUILTIN, { value: true });
  return factory;
}

function isBuiltin(factory: AnyFactory): boolean {
  return (factory as unknown as Record<symbol, unknown>)[BUILTIN] === true;
}

/** Remove a factory by name; returns whether one was removed. */
export function unregisterFactory(kind: FactoryKind, name: string): boolean {
  return kindMap(kind).delete(name);
}

/** The names registered for a kind, sorted. */
export function listFactories(kind: FactoryKind): string[] {
  return [...kindMap(kind).keys()].sort();
}

/** The names of a kind known to the type checker (built-ins and declaration-merged ones). */
export type KnownName<K extends FactoryKind> = Extract<keyof FactoryKinds[K], string>;
/** The options of the factory registered under a known name. */
export type OptionsFor<K extends FactoryKind, N extends string> =
  N extends KnownName<K> ? FactoryOptions<FactoryKinds[K][N]> : unknown;
/** What the factory registered under a known name builds. */
export type InstanceFor<K extends FactoryKind, N extends string> =
  N extends KnownName<K> ? FactoryInstance<FactoryKinds[K][N]> : unknown;

/** Look up a registered factory; throws a {@link RegistryError} listing the known names when missing. */
export function getFactory<K extends FactoryKind, N extends KnownName<K> | (string & {})>(
  kind: K,
  name: N,
): Factory<OptionsFor<K, N>, InstanceFor<K, N>> {
  const f = kindMap(kind).get(name);
  if (!f) {
    const known = listFactories(kind);
    throw new RegistryError(
      'SPARKPILOT_REGISTRY_UNKNOWN',
      `No ${kind} named "${name}" is registered. Known: ${known.length ? known.join(', ') : '(none)'}. Register it with registerFactory('${kind}', factory).`,
    );
  }
  return f as Factory<OptionsFor<K, N>, InstanceFor<K, N>>;
}

/** Build an instance of a registered factory by name. */
export function createFromRegistry<K extends FactoryKind, N extends KnownName<K> | (string & {})>(
  kind: K,
  name: N,
  options?: OptionsFor<K, N>,
): InstanceFor<K, N> {
  return getFactory(kind, name)(options);
}

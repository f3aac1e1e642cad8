/**
 * sparkpilot: collect, analyze and tune Apache Spark applications, and orchestrate pipelines of Spark jobs.
 *
 * @packageDocumentation
 */
import { eventLogCollector } from './collect/event-log/collector.js';
import { markBuiltin, registerFactory } from './registry.js';

export type {
  CollectFailure,
  CollectOptions,
  Collector,
  CollectorCapabilities,
  CollectProgress,
  CollectResult,
} from './collect/collector.js';
export {
  type CodecName,
  codecFromFileName,
  type DecodeOptions,
  decodeFile,
  decodeStream,
  readZip,
  type ZipEntry,
  type ZstdBackend,
  zstdNativeAvailable,
} from './collect/event-log/codecs.js';
export {
  type EventLogCollectorOptions,
  type EventLogSource,
  eventLogCollector,
  eventLogCollectorOptionsSchema,
} from './collect/event-log/collector.js';
export {
  configEnvironmentVariables,
  configSchema,
  type LoadConfigOptions,
  loadConfig,
  type SparkpilotConfig,
  type SparkpilotConfigInput,
} from './config/config.js';
export {
  AbortError,
  ConfigError,
  EventLogError,
  type InputLocation,
  RegistryError,
  SparkpilotError,
  type SparkpilotErrorCode,
  type SparkpilotErrorOptions,
} from './errors.js';
export * from './model/index.js';
export {
  type AdapterFactories,
  type AnalyzerFactories,
  type AnyFactory,
  type CollectorFactories,
  createFromRegistry,
  defineFactory,
  type Factory,
  type FactoryInstance,
  type FactoryKind,
  type FactoryKinds,
  type FactoryOptions,
  getFactory,
  type InstanceFor,
  type KnownName,
  listFactories,
  type OptionsFor,
  type RecommenderFactories,
  registerFactory,
  unregisterFactory,
} from './registry.js';

registerFactory('collector', markBuiltin(eventLogCollector));

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
} from './collect/event-log/codecs/index.js';
export {
  type EventLogCollectOptions,
  type EventLogCollectorOptions,
  type EventLogSource,
  eventLogCollector,
  eventLogCollectorOptionsSchema,
  type LogUnitInfo,
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
  StoreError,
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
export {
  type IngestFailure,
  type IngestOptions,
  type IngestReport,
  ingestEventLogs,
} from './store/ingest.js';
export {
  KnexApplicationRepository,
  type KnexRepositoryOptions,
} from './store/knex/application-repository.js';
export {
  createKnexStore,
  knexConfigFromUrl,
  openStore,
  redactUrl,
  type Store,
  type StoreOptions,
} from './store/knex/connect.js';
export { KnexIngestLedger } from './store/knex/ledger.js';
export {
  type MigrateOptions,
  type MigrationStatus,
  migrate,
  migrationStatus,
  rollback,
} from './store/knex/migrate.js';
export { type TableNames, tableNames } from './store/knex/tables.js';
export type { IngestLedger, LedgerEntry } from './store/ledger.js';
export type {
  ApplicationQuery,
  ApplicationRepository,
  ApplicationSort,
  ApplicationSummary,
  AttemptStatus,
  Page,
  SaveOptions,
  SaveOutcome,
  SaveResult,
} from './store/repository.js';
export { jobKeyOf, statusOf, summarize, tagsOf } from './store/summary.js';

registerFactory('collector', markBuiltin(eventLogCollector));

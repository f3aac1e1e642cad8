/**
 * sparkpilot: collect, analyze and tune Apache Spark applications, and orchestrate pipelines of Spark jobs.
 *
 * @packageDocumentation
 */
import { inMemoryAdapter } from './adapters/in-memory.js';
import { livyAdapter } from './adapters/livy.js';
import { sparkSessionAdapter } from './adapters/spark-session.js';
import { sparkSubmitAdapter } from './adapters/spark-submit.js';
import { standaloneRestAdapter } from './adapters/standalone-rest.js';
import { jobAnalyzer } from './analyze/job-analyzer.js';
import { eventLogCollector } from './collect/event-log/collector.js';
import { ensembleRecommender } from './recommend/ensemble.js';
import { modelRecommender } from './recommend/model.js';
import { ruleBasedRecommender } from './recommend/rule-based.js';
import { similarityRecommender } from './recommend/similarity.js';
import { markBuiltin, registerFactory } from './registry.js';

export {
  type AdapterCallOptions,
  type AdapterCapabilities,
  isTerminal,
  type Submission,
  type SubmissionAdapter,
  type SubmissionApplication,
  type SubmissionRequest,
  type SubmissionState,
  type SubmissionStatus,
} from './adapters/adapter.js';
export { type Clock, ManualClock, realClock } from './adapters/clock.js';
export {
  type InMemoryAdapter,
  type InMemoryAdapterOptions,
  type InMemoryJobScript,
  type InMemorySubmissionRecord,
  inMemoryAdapter,
  inMemoryAdapterOptionsSchema,
  inMemoryJobScriptSchema,
} from './adapters/in-memory.js';
export {
  type LivyAdapter,
  type LivyAdapterOptions,
  type LivySessionProperties,
  livyAdapter,
  livyAdapterOptionsSchema,
  livySessionPropertiesSchema,
} from './adapters/livy.js';
export {
  type SparkSessionAdapter,
  type SparkSessionAdapterOptions,
  type SparkSessionDriverInfo,
  sparkpilotPythonDir,
  sparkSessionAdapter,
  sparkSessionAdapterOptionsSchema,
} from './adapters/spark-session.js';
export {
  clusterManagerOf,
  errorExcerpt,
  parseDriverId,
  parseSparkAppId,
  type SparkClusterManager,
  type SparkSubmitAdapter,
  type SparkSubmitAdapterOptions,
  type SparkSubmitRecord,
  sparkSubmitAdapter,
  sparkSubmitAdapterOptionsSchema,
} from './adapters/spark-submit.js';
export {
  STANDALONE_REST_SUBMISSION_KEY_PROPERTY,
  type StandaloneRestAdapter,
  type StandaloneRestAdapterOptions,
  standaloneRestAdapter,
  standaloneRestAdapterOptionsSchema,
} from './adapters/standalone-rest.js';
export {
  type Analysis,
  type AnalyzeOptions,
  type Analyzer,
  type Evidence,
  type Finding,
  type Heuristic,
  type HeuristicContext,
  maxSeverity,
  SEVERITIES,
  type Severity,
  severityOf,
  severityRank,
  sparkProperty,
} from './analyze/analyzer.js';
export { type EfficiencyReport, efficiencyOf, type StageEfficiency } from './analyze/efficiency.js';
export {
  DEFAULT_PART_WEIGHTS,
  FEATURE_LENGTH,
  FEATURE_PARTS,
  FEATURES_VERSION,
  FeatureIndex,
  type FeaturePart,
  featuresOf,
  type IndexedRun,
  type Neighbour,
  nameTokens,
  type Similarity,
  similarity,
} from './analyze/features.js';
export { builtinHeuristics } from './analyze/heuristics/index.js';
export { JOB_ANALYZER_VERSION, jobAnalyzer, jobAnalyzerOptionsSchema } from './analyze/job-analyzer.js';
export { type SimulationPoint, StageSimulator } from './analyze/simulator.js';
export {
  type AnalyzerThresholds,
  type AnalyzerThresholdsInput,
  analyzerThresholdsSchema,
  defaultThresholds,
} from './analyze/thresholds.js';
export { formatSparkBytes, parseSparkBytes, type SparkByteUnit } from './analyze/units.js';
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
  AnalyzeError,
  ConfigError,
  EventLogError,
  type InputLocation,
  OrchestratorError,
  RecommendError,
  RegistryError,
  SparkpilotError,
  type SparkpilotErrorCode,
  type SparkpilotErrorOptions,
  StoreError,
} from './errors.js';
export * from './model/index.js';
export {
  appNameOf,
  type BackfillOptions,
  createOrchestrator,
  type JobEvent,
  Orchestrator,
  type OrchestratorEvents,
  type OrchestratorOptionsInput,
  orchestratorOptionsSchema,
  type RunEvent,
  resourceProperties,
  runIdFor,
} from './orchestrate/orchestrator.js';
export {
  type Application,
  type AutoResources,
  type AutoResourcesInput,
  applicationSchema,
  autoResourcesSchema,
  type CriticalPath,
  criticalPath,
  definePipeline,
  downstreamOf,
  type EdgeReason,
  type ExplicitResources,
  type ExplicitResourcesInput,
  explicitResourcesSchema,
  type Job,
  type JobInput,
  jobSchema,
  type PipelineDefinition,
  type PipelineEdge,
  type PipelineInput,
  type PipelineOutput,
  pipelineSchema,
  type Resources,
  type ResourcesInput,
  resourcesSchema,
  type Schedule,
  scheduleSchema,
  topologicalOrder,
  type WaitFor,
  waitForSchema,
} from './orchestrate/pipeline.js';
export {
  type DataInterval,
  dateInZone,
  intervalEndingAtOrBefore,
  intervalsBetween,
  nextFireTime,
  renderJob,
  renderTemplate,
  type ScheduleOptions,
  TEMPLATE_VARIABLES,
  type TemplateVars,
} from './orchestrate/schedule.js';
export { type RecommenderInput, recommendWith } from './recommend/engine.js';
export {
  type EnsembleOptions,
  ensembleInput,
  ensembleRecommender,
  ensembleRecommenderOptionsSchema,
} from './recommend/ensemble.js';
export { modelInput, modelRecommender, modelRecommenderOptionsSchema } from './recommend/model.js';
export {
  combine,
  type DurationEstimate,
  type DurationPredictor,
  durationOf,
  leaveOneOutMape,
  scalingModelPredictor,
  similarityPredictor,
  simulatorPredictor,
} from './recommend/predict.js';
export type {
  Candidate,
  ConfidenceBasis,
  FeedbackOutcome,
  FeedbackRecord,
  Interval,
  Objective,
  Prediction,
  Pricing,
  Recommendation,
  RecommendContext,
  Recommender,
  ResourceSettings,
  SimilarRun,
} from './recommend/recommender.js';
export {
  ruleBasedInput,
  ruleBasedRecommender,
  ruleBasedRecommenderOptionsSchema,
} from './recommend/rule-based.js';
export {
  choose,
  costOf,
  formatMb,
  paretoFront,
  propertiesOf,
  settingsOf,
} from './recommend/settings.js';
export {
  similarityInput,
  similarityRecommender,
  similarityRecommenderOptionsSchema,
} from './recommend/similarity.js';
export {
  createTuner,
  DEFAULT_PRICING,
  type RecommendOptions,
  type Tuner,
  tunerOptionsSchema,
} from './recommend/tuner.js';
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
export { KnexRunRepository, type KnexRunRepositoryOptions } from './store/knex/run-repository.js';
export { type TableNames, tableNames } from './store/knex/tables.js';
export {
  KnexAnalysisRepository,
  KnexFeatureRepository,
  KnexFeedbackRepository,
  KnexRecommendationRepository,
} from './store/knex/tuning-repositories.js';
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
export {
  ACTIVE_JOB_RUN_STATUSES,
  type ClaimedJobRun,
  type ClaimRequest,
  type JobRunCondition,
  type JobRunData,
  type JobRunPatch,
  type JobRunRecord,
  type JobRunStatus,
  type JobRunTransition,
  type RunData,
  type RunRecord,
  type RunRepository,
  type RunStatus,
  type RunTrigger,
} from './store/run-repository.js';
export { jobKeyOf, statusOf, summarize, tagsOf } from './store/summary.js';
export {
  type AnalysisRecord,
  type AnalysisRepository,
  type FeatureRecord,
  type FeatureRepository,
  type FeedbackRecordRow,
  type FeedbackRepository,
  type FindingMatch,
  type FindingQuery,
  type RecommendationRecord,
  type RecommendationRepository,
  SEVERITY_ORDER,
} from './store/tuning-repository.js';

registerFactory('collector', markBuiltin(eventLogCollector));
registerFactory('analyzer', markBuiltin(jobAnalyzer));
registerFactory('adapter', markBuiltin(inMemoryAdapter));
registerFactory('adapter', markBuiltin(livyAdapter));
registerFactory('adapter', markBuiltin(sparkSessionAdapter));
registerFactory('adapter', markBuiltin(sparkSubmitAdapter));
registerFactory('adapter', markBuiltin(standaloneRestAdapter));
for (const f of [ensembleRecommender, ruleBasedRecommender, modelRecommender, similarityRecommender]) {
  registerFactory('recommender', markBuiltin(f));
}

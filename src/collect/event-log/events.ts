/**
 * How the parser treats each Spark listener event, by short name (the part after the last `.`).
 * @module
 */

/** Events the model is built from: parsed in full. */
export const MODELLED_EVENTS: ReadonlySet<string> = new Set([
  'SparkListenerLogStart',
  'DBCEventLoggingListenerMetadata',
  'SparkListenerApplicationStart',
  'SparkListenerApplicationEnd',
  'SparkListenerEnvironmentUpdate',
  'SparkListenerResourceProfileAdded',
  'SparkListenerJobStart',
  'SparkListenerJobEnd',
  'SparkListenerStageSubmitted',
  'SparkListenerStageCompleted',
  'SparkListenerTaskStart',
  'SparkListenerTaskEnd',
  'SparkListenerExecutorAdded',
  'SparkListenerExecutorRemoved',
  'SparkListenerBlockManagerAdded',
  'SparkListenerStageExecutorMetrics',
  'SparkListenerExecutorBlacklisted',
  'SparkListenerExecutorExcluded',
  'SparkListenerExecutorUnblacklisted',
  'SparkListenerExecutorUnexcluded',
  'SparkListenerNodeBlacklisted',
  'SparkListenerNodeExcluded',
  'SparkListenerNodeUnblacklisted',
  'SparkListenerNodeUnexcluded',
  'SparkListenerExecutorBlacklistedForStage',
  'SparkListenerExecutorExcludedForStage',
  'SparkListenerNodeBlacklistedForStage',
  'SparkListenerNodeExcludedForStage',
  'SparkListenerSQLExecutionStart',
  'SparkListenerSQLExecutionEnd',
  'SparkListenerSQLAdaptiveExecutionUpdate',
]);

/**
 * Events Spark writes that the model does not need: recognised and skipped without parsing. (Storage
 * block updates, live-only metric updates, AQE metric updates, catalog and streaming events.)
 */
export const KNOWN_SKIPPED_EVENTS: ReadonlySet<string> = new Set([
  'SparkListenerBlockManagerRemoved',
  'SparkListenerUnpersistRDD',
  'SparkListenerTaskGettingResult',
  'SparkListenerExecutorMetricsUpdate',
  'SparkListenerBlockUpdated',
  'SparkListenerSpeculativeTaskSubmitted',
  'SparkListenerUnschedulableTaskSetAdded',
  'SparkListenerUnschedulableTaskSetRemoved',
  'SparkListenerExecutorDecommission',
  'SparkListenerMiscellaneousProcessAdded',
  'SparkListenerSQLAdaptiveSQLMetricUpdates',
  'SparkListenerDriverAccumUpdates',
  'SparkListenerQueryExecutionMetrics',
  'StreamingQueryListener$QueryStartedEvent',
  'StreamingQueryListener$QueryProgressEvent',
  'StreamingQueryListener$QueryTerminatedEvent',
  'StreamingQueryListener$QueryIdleEvent',
  'CreateTablePreEvent',
  'CreateTableEvent',
  'DropTablePreEvent',
  'DropTableEvent',
  'AlterTablePreEvent',
  'AlterTableEvent',
  'RenameTablePreEvent',
  'RenameTableEvent',
  'CreateDatabasePreEvent',
  'CreateDatabaseEvent',
  'DropDatabasePreEvent',
  'DropDatabaseEvent',
  'AlterDatabasePreEvent',
  'AlterDatabaseEvent',
  'CreateFunctionPreEvent',
  'CreateFunctionEvent',
  'DropFunctionPreEvent',
  'DropFunctionEvent',
  'AlterFunctionPreEvent',
  'AlterFunctionEvent',
  'RenameFunctionPreEvent',
  'RenameFunctionEvent',
]);

/** The short name of an event: the part after the last `.` of a fully qualified class name. */
export function shortEventName(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? name : name.slice(i + 1);
}

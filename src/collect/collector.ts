/**
 * The `Collector` contract: something that reads what Spark applications did (event logs, the History
 * Server REST API, cloud APIs) and returns the normalized model of each application attempt.
 * @module
 */
import type { SparkpilotError } from '../errors.js';
import type { ApplicationAttemptModel, CollectionWarning } from '../model/attempt.js';

/** Progress of a long collection, for progress bars. */
export interface CollectProgress {
  /** Units of work (application attempts) finished. */
  done: number;
  /** Units of work found. */
  total: number;
  /** Bytes read so far (decompressed), when the collector reads files. */
  bytes: number;
  /** What is being read now. */
  current?: string;
}

/** Options every collector accepts. */
export interface CollectOptions {
  /** Cancels the collection; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called as work advances. */
  onProgress?: (progress: CollectProgress) => void;
  /**
   * Called with each attempt as soon as it is ready, and awaited before more work is taken (so a slow
   * consumer, such as a database, slows collection down instead of piling models up in memory).
   */
  onApplication?: (model: ApplicationAttemptModel, source: { name: string }) => void | Promise<void>;
  /** Keep the models in the result (default true). Turn off when `onApplication` consumes them. */
  keepResults?: boolean;
}

/** Something that could not be collected, with the error saying why. */
export interface CollectFailure {
  /** The file, folder or URL. */
  source: string;
  /** Whether the user named this source directly (rather than it being found inside a folder). */
  explicit: boolean;
  error: SparkpilotError;
}

/** What a collection returns. */
export interface CollectResult {
  /** One model per application attempt, sorted by application id then attempt id. */
  applications: ApplicationAttemptModel[];
  /** Problems that did not stop collection (malformed lines, skipped files), with file and line. */
  warnings: CollectionWarning[];
  /** Sources that could not be read at all. */
  failures: CollectFailure[];
}

/** Capabilities a collector declares; the conformance suite skips what a collector lacks. */
export interface CollectorCapabilities {
  /** Reports progress through `onProgress`. */
  progress: boolean;
  /** Honours `AbortSignal`. */
  abort: boolean;
}

/**
 * Reads Spark applications from some source into {@link ApplicationAttemptModel}s.
 *
 * @typeParam Source - what `collect` reads from: paths for the event-log collector, a URL for a REST one.
 * @typeParam Options - the options `collect` takes: {@link CollectOptions} or a collector's own extension.
 */
export interface Collector<Source = unknown, Options extends CollectOptions = CollectOptions> {
  /** The registry name. */
  readonly name: string;
  readonly capabilities: CollectorCapabilities;
  /** Read every application attempt the source holds. Never throws for one bad input among many. */
  collect(source: Source, options?: Options): Promise<CollectResult>;
  /** Release resources (worker threads, connections). */
  close?(): Promise<void>;
}

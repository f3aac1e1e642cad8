/**
 * The error hierarchy of sparkpilot.
 *
 * Every error thrown by sparkpilot is a {@link SparkpilotError} with a stable {@link SparkpilotError.code}
 * that scripts can switch on, an optional `cause`, and a message that says what failed, on which input,
 * and what to do about it.
 *
 * `instanceof` works across two copies of the package (the ESM and the CJS build loaded side by side):
 * membership is decided by a `Symbol.for` brand rather than by prototype identity.
 *
 * @module
 */

const BRAND = Symbol.for('sparkpilot.error');
const FAMILY = Symbol.for('sparkpilot.error.family');

/** Stable error codes. New codes may be added; existing codes never change meaning. */
export type SparkpilotErrorCode =
  | 'SPARKPILOT_CONFIG_INVALID'
  | 'SPARKPILOT_CONFIG_FILE'
  | 'SPARKPILOT_REGISTRY_UNKNOWN'
  | 'SPARKPILOT_REGISTRY_DUPLICATE'
  | 'SPARKPILOT_EVENTLOG_NOT_FOUND'
  | 'SPARKPILOT_EVENTLOG_UNREADABLE'
  | 'SPARKPILOT_EVENTLOG_NOT_SPARK'
  | 'SPARKPILOT_EVENTLOG_CODEC'
  | 'SPARKPILOT_EVENTLOG_CORRUPT'
  | 'SPARKPILOT_STORE_WRITE'
  | 'SPARKPILOT_STORE_CONNECT'
  | 'SPARKPILOT_STORE_BAD_QUERY'
  | 'SPARKPILOT_STORE_BAD_CURSOR'
  | 'SPARKPILOT_STORE_MIGRATION'
  | 'SPARKPILOT_STORE_CLOSED'
  | 'SPARKPILOT_RECOMMEND_NO_DATA'
  | 'SPARKPILOT_RECOMMEND_NO_CANDIDATE'
  | 'SPARKPILOT_RECOMMEND_UNKNOWN'
  | 'SPARKPILOT_ANALYZE_NOT_FOUND'
  | 'SPARKPILOT_SUBMIT_REJECTED'
  | 'SPARKPILOT_SUBMIT_UNREACHABLE'
  | 'SPARKPILOT_SUBMIT_UNKNOWN_ID'
  | 'SPARKPILOT_ABORTED'
  | (string & {});

/** Options accepted by every sparkpilot error. */
export interface SparkpilotErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error sparkpilot throws.
 *
 * @example
 * ```ts
 * try {
 *   await collector.collect({ path: 'missing.log' });
 * } catch (err) {
 *   if (err instanceof SparkpilotError && err.code === 'SPARKPILOT_EVENTLOG_NOT_FOUND') {
 *     // ...
 *   }
 * }
 * ```
 */
export class SparkpilotError extends Error {
  /** A stable, machine-readable code. */
  readonly code: SparkpilotErrorCode;

  constructor(code: SparkpilotErrorCode, message: string, options: SparkpilotErrorOptions = {}) {
    super(message.startsWith('[sparkpilot]') ? message : `[sparkpilot] ${message}`, {
      cause: options.cause,
    });
    this.code = code;
  }

  /** Brand-based `instanceof`, so errors from another copy of the package still match. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` was called on (maybe a subclass)
    return isBranded(this, value);
  }
}

function isBranded(cls: { prototype: object }, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { [BRAND]?: boolean; [FAMILY]?: readonly string[] };
  if (v[BRAND] !== true) return false;
  const family = (cls.prototype as { [FAMILY]?: readonly string[] })[FAMILY];
  const own = family?.[family.length - 1];
  return own === 'SparkpilotError' || (own !== undefined && (v[FAMILY]?.includes(own) ?? false));
}

function brand(cls: { prototype: object }, name: string, parent?: { prototype: object }): void {
  const parentFamily = parent ? ((parent.prototype as { [FAMILY]?: readonly string[] })[FAMILY] ?? []) : [];
  Object.defineProperties(cls.prototype, {
    name: { value: name, writable: true, configurable: true, enumerable: false },
    [BRAND]: { value: true },
    [FAMILY]: { value: [...parentFamily, name] },
  });
}
brand(SparkpilotError, 'SparkpilotError');

/** A configuration value (file, environment or runtime option) failed validation. */
export class ConfigError extends SparkpilotError {}
brand(ConfigError, 'ConfigError', SparkpilotError);

/** A name was looked up in a registry and not found, or registered twice. */
export class RegistryError extends SparkpilotError {}
brand(RegistryError, 'RegistryError', SparkpilotError);

/** Where in an input a problem was found. */
export interface InputLocation {
  /** The file (or URL) that was read. */
  file: string;
  /** 1-based line number inside the (decompressed) file, when known. */
  line?: number;
}

/**
 * An event log could not be read: missing, unreadable, not a Spark event log, or undecodable.
 * The error names the file (and line where known).
 */
export class EventLogError extends SparkpilotError {
  /** The file (and line) the error is about. */
  readonly location: InputLocation;

  constructor(
    code: SparkpilotErrorCode,
    location: InputLocation,
    message: string,
    options?: SparkpilotErrorOptions,
  ) {
    const where = location.line !== undefined ? `${location.file} line ${location.line}` : location.file;
    super(code, `[event-log] ${where}: ${message}`, options);
    this.location = location;
  }
}
brand(EventLogError, 'EventLogError', SparkpilotError);

/** The store could not be reached, a query was malformed, or a write failed (and was rolled back). */
export class StoreError extends SparkpilotError {}
brand(StoreError, 'StoreError', SparkpilotError);

/**
 * A recommendation could not be made or found: no data about the job (`SPARKPILOT_RECOMMEND_NO_DATA`), no
 * candidate setting fits the pricing (`SPARKPILOT_RECOMMEND_NO_CANDIDATE`), or an unknown recommendation id
 * (`SPARKPILOT_RECOMMEND_UNKNOWN`).
 */
export class RecommendError extends SparkpilotError {}
brand(RecommendError, 'RecommendError', SparkpilotError);

/** An application to analyze was not found in the store or at the path given (`SPARKPILOT_ANALYZE_NOT_FOUND`). */
export class AnalyzeError extends SparkpilotError {}
brand(AnalyzeError, 'AnalyzeError', SparkpilotError);

/**
 * Error codes of {@link SubmissionError}:
 * - `SPARKPILOT_SUBMIT_REJECTED`: the cluster refused the request (bad properties, missing jar, quota);
 *   retrying the same request will not help.
 * - `SPARKPILOT_SUBMIT_UNREACHABLE`: the cluster could not be reached or timed out; a retry may help.
 * - `SPARKPILOT_SUBMIT_UNKNOWN_ID`: no submission with that id is known to the cluster.
 */
export type SubmissionErrorCode =
  | 'SPARKPILOT_SUBMIT_REJECTED'
  | 'SPARKPILOT_SUBMIT_UNREACHABLE'
  | 'SPARKPILOT_SUBMIT_UNKNOWN_ID';

/** Options of a {@link SubmissionError}. */
export interface SubmissionErrorOptions extends SparkpilotErrorOptions {
  /** The adapter that failed; prefixes the message as `[name]`. */
  adapter?: string;
  /** Whether retrying can help; defaults by code (only `SPARKPILOT_SUBMIT_UNREACHABLE` is retryable). */
  retryable?: boolean;
  /** The key of the request, when the error is about one. */
  submissionKey?: string;
  /** The submission id, when the error is about one. */
  submissionId?: string;
}

/**
 * A submission failed, or a submission was not found. {@link SubmissionError.retryable} says whether trying
 * again can help (as Temporal's `ApplicationFailure.nonRetryable`, inverted): the orchestrator retries only
 * retryable errors, and only under the same submission key.
 *
 * @example
 * ```ts
 * throw new SubmissionError(
 *   'SPARKPILOT_SUBMIT_UNREACHABLE',
 *   `submission key "${key}": http://master:6066 did not answer in 30 s. Check that the master is up; the submission will be retried.`,
 *   { adapter: 'standalone-rest', submissionKey: key, cause: err },
 * );
 * ```
 */
export class SubmissionError extends SparkpilotError {
  /** Whether trying again (with the same submission key) can help. */
  readonly retryable: boolean;
  /** The key of the request, when the error is about one. */
  readonly submissionKey?: string;
  /** The submission id, when the error is about one. */
  readonly submissionId?: string;
  /** The adapter that failed, when known. */
  readonly adapter?: string;

  constructor(
    code: SubmissionErrorCode | (string & {}),
    message: string,
    options: SubmissionErrorOptions = {},
  ) {
    const prefixed =
      options.adapter && !message.startsWith('[') ? `[${options.adapter}] ${message}` : message;
    super(code, prefixed, { cause: options.cause });
    this.retryable = options.retryable ?? code === 'SPARKPILOT_SUBMIT_UNREACHABLE';
    if (options.submissionKey !== undefined) this.submissionKey = options.submissionKey;
    if (options.submissionId !== undefined) this.submissionId = options.submissionId;
    if (options.adapter !== undefined) this.adapter = options.adapter;
  }
}
brand(SubmissionError, 'SubmissionError', SparkpilotError);

/**
 * A pipeline could not be defined or scheduled. The message starts with `[sparkpilot] [pipeline <name>]`
 * and says what to change. Codes: `SPARKPILOT_PIPELINE_INVALID`, `SPARKPILOT_PIPELINE_DUPLICATE_JOB`,
 * `SPARKPILOT_PIPELINE_UNKNOWN_DEPENDENCY`, `SPARKPILOT_PIPELINE_DATASET_CONFLICT`, `SPARKPILOT_PIPELINE_CYCLE`,
 * `SPARKPILOT_PIPELINE_SCHEDULE`, `SPARKPILOT_PIPELINE_UNKNOWN_JOB`, `SPARKPILOT_PIPELINE_TEMPLATE`.
 */
export class PipelineError extends SparkpilotError {}
brand(PipelineError, 'PipelineError', SparkpilotError);

/**
 * The orchestrator was misconfigured or asked for something it cannot do. Codes:
 * `SPARKPILOT_ORCHESTRATOR_CONFIG` (options), `SPARKPILOT_ORCHESTRATOR_UNKNOWN_PIPELINE`,
 * `SPARKPILOT_ORCHESTRATOR_UNKNOWN_RUN`, `SPARKPILOT_ORCHESTRATOR_STATE` (e.g. rerunning a job that is still
 * running), `SPARKPILOT_ORCHESTRATOR_STOPPED`.
 */
export class OrchestratorError extends SparkpilotError {}
brand(OrchestratorError, 'OrchestratorError', SparkpilotError);

/** An operation was cancelled through its `AbortSignal` without a reason of its own. */
export class AbortError extends SparkpilotError {
  constructor(message = 'The operation was aborted.', options?: SparkpilotErrorOptions) {
    super('SPARKPILOT_ABORTED', message, options);
  }
}
brand(AbortError, 'AbortError', SparkpilotError);

/** Throws `signal.reason` (unchanged) when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new AbortError();
}

/**
 * Messages between the event-log collector and its worker threads.
 * @module
 */
import type { ApplicationAttemptModel, CollectionWarning } from '../../model/attempt.js';
import { type PreparedAttempt, prepareAttempt } from '../../store/knex/rows.js';
import type { CodecName } from './codecs/index.js';
import { type LogUnit, makePart, type PartLocation } from './discover.js';

/** A {@link LogUnit} without functions, for `postMessage`. */
export interface SerializedUnit extends Omit<LogUnit, 'parts'> {
  parts: { name: string; size: number; codec: CodecName; location: PartLocation }[];
}

/** What parsing one unit gave: the model, or the rows a Knex store writes for it. */
export interface Parsed {
  model?: ApplicationAttemptModel;
  rows?: PreparedAttempt;
  warnings: CollectionWarning[];
  /** Decompressed bytes read. */
  bytes: number;
}

/**
 * What a parser hands on for `model`: the model itself, or (with `rows`, for a Knex store) the rows to
 * write, made on the thread that parsed it.
 */
export function parsedOf(model: ApplicationAttemptModel, rows?: { tags?: string[] }): Parsed {
  const common = { warnings: model.warnings, bytes: model.stats.bytes };
  return rows ? { rows: prepareAttempt(model, rows.tags), ...common } : { model, ...common };
}

/** A unit for a worker to parse; with `rows`, the worker answers with the rows rather than the model. */
export interface WorkerRequest {
  index: number;
  unit: SerializedUnit;
  rows?: { tags: string[] };
}

/** A worker's answer for one unit. */
export type WorkerReply =
  | { index: number; ok: true; parsed: Parsed }
  | {
      index: number;
      ok: false;
      error: { code: string; message: string; detail: string; file: string; line?: number };
    };

/** Strip functions from a unit. */
export function serializeUnit(unit: LogUnit): SerializedUnit {
  return {
    ...unit,
    parts: unit.parts.map(({ name, size, codec, location }) => ({ name, size, codec, location })),
  };
}

/** Rebuild a unit in the worker. */
export function deserializeUnit(unit: SerializedUnit): LogUnit {
  return { ...unit, parts: unit.parts.map((p) => makePart(p.name, p.size, p.codec, p.location)) };
}

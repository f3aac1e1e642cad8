/**
 * Messages between the event-log collector and its worker threads.
 * @module
 */
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type { CodecName } from './codecs/index.js';
import { type LogUnit, makePart, type PartLocation } from './discover.js';

/** A {@link LogUnit} without functions, for `postMessage`. */
export interface SerializedUnit extends Omit<LogUnit, 'parts'> {
  parts: { name: string; size: number; codec: CodecName; location: PartLocation }[];
}

/** A worker's answer for one unit. */
export type WorkerReply =
  | { index: number; ok: true; model: ApplicationAttemptModel }
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

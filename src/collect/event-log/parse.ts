/**
 * Streams the bytes of one application attempt's log (one file, or the ordered parts of a rolling or
 * legacy log), splits lines without decoding the ones it skips, and feeds events to the replayer.
 * @module
 */
import { basename } from 'node:path';
import { EventLogError, throwIfAborted } from '../../errors.js';
import type { ApplicationAttemptModel, CollectionStats, CollectionWarning } from '../../model/attempt.js';
import type { LogUnit } from './discover.js';
import { KNOWN_SKIPPED_EVENTS, MODELLED_EVENTS, shortEventName } from './events.js';
import { mayHoldUnsafeInteger, parseLossless } from './json.js';
import { EventReplayer } from './replay.js';
import { newTaskRecord, scanTaskLine } from './task-record.js';

/** Options of {@link parseLogUnit}. */
export interface ParseOptions {
  signal?: AbortSignal;
  /** A line longer than this many bytes is skipped with a warning. */
  maxLineBytes: number;
  /** Values kept exactly per stage and metric before quantiles become a sketch. */
  exactQuantileValues: number;
  /** Called with the number of decompressed bytes read so far, now and then. */
  onBytes?: (bytes: number) => void;
  /** Read files with blocking reads (a worker thread that does nothing else). */
  blockingReads?: boolean;
}

const EVENT_PREFIX = Buffer.from('{"Event":"');
const ACCUMULABLES = Buffer.from('"Accumulables":[');
const AFTER_TASK_INFO = Buffer.from(']},"Task ');
const SNIFF_LINES = 5;

enum Kind {
  Modelled = 0,
  TaskEnd = 1,
  Skipped = 2,
  Unknown = 3,
  TaskStart = 4,
}

const kindCache = new Map<string, { kind: Kind; short: string }>();
function classify(name: string): { kind: Kind; short: string } {
  let k = kindCache.get(name);
  if (!k) {
    const short = shortEventName(name);
    const kind =
      short === 'SparkListenerTaskEnd'
        ? Kind.TaskEnd
        : short === 'SparkListenerTaskStart'
          ? Kind.TaskStart
          : MODELLED_EVENTS.has(short)
            ? Kind.Modelled
            : KNOWN_SKIPPED_EVENTS.has(short)
              ? Kind.Skipped
              : Kind.Unknown;
    k = { kind, short };
    if (kindCache.size < 10_000) kindCache.set(name, k);
  }
  return k;
}

const TASK_PREFIX = Buffer.from('SparkListenerTask');
const TASK_END = 'SparkListenerTaskEnd';
const TASK_START = 'SparkListenerTaskStart';

/** `SparkListenerTaskEnd` or `SparkListenerTaskStart` when the event name at `at` is one of them. */
function taskEventAt(buf: Buffer, at: number, end: number): string | undefined {
  if (end - at < 24) return undefined;
  for (let i = 0; i < TASK_PREFIX.length; i++) if (buf[at + i] !== TASK_PREFIX[i]) return undefined;
  const p = at + TASK_PREFIX.length;
  // "End"" or "Start""
  if (buf[p] === 69 && buf[p + 1] === 110 && buf[p + 2] === 100 && buf[p + 3] === 34) return TASK_END;
  if (
    buf[p] === 83 &&
    buf[p + 1] === 116 &&
    buf[p + 2] === 97 &&
    buf[p + 3] === 114 &&
    buf[p + 4] === 116 &&
    buf[p + 5] === 34
  ) {
    return TASK_START;
  }
  return undefined;
}

function hasPrefix(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 11) return false;
  for (let i = 0; i < 10; i++) if (buf[start + i] !== EVENT_PREFIX[i]) return false;
  return true;
}

/**
 * Text of a TaskEnd line without the task's `Accumulables` array, which repeats the task metrics and is the
 * bulk of the line. Returns the whole line when the layout is not the one Spark's JsonProtocol writes.
 */
function taskEndText(buf: Buffer, start: number, end: number): string {
  const a = buf.indexOf(ACCUMULABLES, start);
  if (a < 0 || a >= end) return buf.toString('utf8', start, end);
  const b = buf.indexOf(AFTER_TASK_INFO, a);
  if (b < 0 || b >= end) return buf.toString('utf8', start, end);
  return buf.toString('utf8', start, a + ACCUMULABLES.length) + buf.toString('utf8', b, end);
}

function looksBinary(buf: Buffer, start: number, end: number): boolean {
  const n = Math.min(end, start + 4096);
  for (let i = start; i < n; i++) if (buf[i] === 0) return true;
  return false;
}

/**
 * Parse one log unit into the model of its application attempt.
 * Throws {@link EventLogError} when the unit is not a Spark event log at all; a malformed line mid-file is a
 * warning and parsing goes on.
 */
export async function parseLogUnit(unit: LogUnit, options: ParseOptions): Promise<ApplicationAttemptModel> {
  const stats: CollectionStats = { events: 0, unknownEvents: {}, malformedLines: 0, bytes: 0, tasks: 0 };
  const warnings: CollectionWarning[] = [];
  const replayer = new EventReplayer({ exactQuantileValues: options.exactQuantileValues }, stats, warnings);
  const record = newTaskRecord();
  const signal = options.signal;
  let sparkLines = 0;
  let nonEmptyLines = 0;
  let firstBadLine: string | undefined;
  const pos = { source: '', line: 0 };
  const warn = (code: string, message: string, line?: number) => {
    if (warnings.length >= 1000) return;
    const w: CollectionWarning = { source: pos.source, code, message };
    if (line !== undefined) w.line = line;
    warnings.push(w);
  };

  const handle = (buf: Buffer, start: number, end: number, last: boolean): void => {
    pos.line++;
    if (end > start && buf[end - 1] === 13) end--;
    if (end <= start) return;
    nonEmptyLines++;
    if (sparkLines === 0) {
      if (looksBinary(buf, start, end)) {
        throw new EventLogError(
          'SPARKPILOT_EVENTLOG_NOT_SPARK',
          { file: pos.source },
          'binary data, not a Spark event log. If it is compressed, name it with the codec extension Spark uses (.zstd, .lz4, .snappy, .lzf).',
        );
      }
    }
    let name: string | undefined;
    let parsed: unknown;
    let text: string | undefined;
    if (hasPrefix(buf, start, end)) {
      // Task events are nearly every line: recognise their names from the bytes, without a string.
      const task = taskEventAt(buf, start + 10, end);
      if (task !== undefined) name = task;
      else {
        const q = buf.indexOf(34, start + 10);
        if (q > 0 && q < end) name = buf.toString('latin1', start + 10, q);
      }
    }
    let kind: Kind;
    let short: string;
    if (name !== undefined) {
      ({ kind, short } = classify(name));
      if (kind === Kind.Skipped || kind === Kind.Unknown) {
        // Recognised without parsing; a skipped line is still checked to be whole when it is the last one.
        sparkLines++;
        stats.events++;
        if (kind === Kind.Unknown) stats.unknownEvents[short] = (stats.unknownEvents[short] ?? 0) + 1;
        if (last && buf[end - 1] !== 125) {
          stats.events--;
          warn(
            'truncated-last-line',
            'the last line is cut off (the log is still being written or was truncated); it was skipped.',
            pos.line,
          );
        }
        return;
      }
      if ((kind === Kind.TaskEnd || kind === Kind.TaskStart) && (!last || buf[end - 1] === 125)) {
        // The hot path: read the task's fields from the bytes, no JSON objects.
        if (scanTaskLine(buf, start, end, kind === Kind.TaskEnd, record)) {
          sparkLines++;
          stats.events++;
          if (kind === Kind.TaskEnd) replayer.taskEnd(record);
          else replayer.taskStart(record);
          return;
        }
      }
      text = kind === Kind.TaskEnd ? taskEndText(buf, start, end) : buf.toString('utf8', start, end);
    } else {
      text = buf.toString('utf8', start, end);
      kind = Kind.Modelled;
      short = '';
    }
    try {
      parsed =
        kind !== Kind.TaskEnd && kind !== Kind.TaskStart && mayHoldUnsafeInteger(text)
          ? parseLossless(text)
          : JSON.parse(text);
    } catch {
      if (last) {
        warn(
          'truncated-last-line',
          'the last line is cut off (the log is still being written or was truncated); it was skipped.',
          pos.line,
        );
      } else {
        stats.malformedLines++;
        if (firstBadLine === undefined) firstBadLine = text.slice(0, 80);
        warn(
          'malformed-line',
          'not JSON (skipped). Check that the file was not truncated or edited.',
          pos.line,
        );
      }
      return;
    }
    if (name === undefined) {
      const ev = (parsed as { Event?: unknown } | null)?.Event;
      if (typeof ev !== 'string') {
        if (firstBadLine === undefined) firstBadLine = text.slice(0, 80);
        warn('not-an-event', 'a JSON line without an "Event" field (skipped).', pos.line);
        return;
      }
      ({ kind, short } = classify(ev));
      if (kind === Kind.Skipped || kind === Kind.Unknown) {
        sparkLines++;
        stats.events++;
        if (kind === Kind.Unknown) stats.unknownEvents[short] = (stats.unknownEvents[short] ?? 0) + 1;
        return;
      }
    }
    sparkLines++;
    stats.events++;
    replayer.event(short, parsed, pos);
  };

  for (const part of unit.parts) {
    throwIfAborted(signal);
    pos.source = part.name;
    pos.line = 0;
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let skippingLongLine = false;
    let reported = 0;
    try {
      for await (const chunk of part.open({
        ...(signal ? { signal } : {}),
        ...(options.blockingReads ? { blockingReads: true } : {}),
        onWarning: (message: string) => warn('codec', message),
      })) {
        throwIfAborted(signal);
        stats.bytes += chunk.length;
        let from = 0;
        let nl = chunk.indexOf(10, 0);
        while (nl >= 0) {
          if (skippingLongLine) {
            skippingLongLine = false;
            pos.line++;
          } else if (pending.length) {
            pending.push(chunk.subarray(from, nl));
            const line = Buffer.concat(pending);
            pending.length = 0;
            pendingBytes = 0;
            handle(line, 0, line.length, false);
          } else {
            handle(chunk, from, nl, false);
          }
          if (sparkLines === 0 && nonEmptyLines >= SNIFF_LINES) throw notSpark(part.name, firstBadLine);
          from = nl + 1;
          nl = chunk.indexOf(10, from);
        }
        if (from < chunk.length && !skippingLongLine) {
          if (
            sparkLines === 0 &&
            pendingBytes + chunk.length - from > 1 << 20 &&
            !hasPrefixAny(pending, chunk, from)
          ) {
            throw notSpark(part.name, firstBadLine);
          }
          pending.push(Buffer.from(chunk.subarray(from)));
          pendingBytes += chunk.length - from;
          if (pendingBytes > options.maxLineBytes) {
            pending.length = 0;
            pendingBytes = 0;
            skippingLongLine = true;
            warn(
              'line-too-long',
              `a line longer than ${options.maxLineBytes} bytes was skipped. Raise eventLog.maxLineBytes if it is a real event.`,
              pos.line + 1,
            );
          }
        }
        if (options.onBytes && stats.bytes - reported > 8 << 20) {
          reported = stats.bytes;
          options.onBytes(stats.bytes);
        }
      }
    } catch (err) {
      if (err instanceof EventLogError || signal?.aborted) throw err;
      throw new EventLogError(
        'SPARKPILOT_EVENTLOG_UNREADABLE',
        { file: part.name },
        `cannot be read: ${(err as Error).message}. Check that the file exists and is readable.`,
        { cause: err },
      );
    }
    if (pending.length) {
      const line = Buffer.concat(pending);
      handle(line, 0, line.length, true);
    }
  }
  options.onBytes?.(stats.bytes);
  if (sparkLines === 0) throw notSpark(unit.parts[0]?.name ?? unit.name, firstBadLine, nonEmptyLines === 0);
  if (!replayer.applicationId) {
    replayer.setFallbackAppId(unit.fallbackAppId);
    if (!warnings.some((w) => w.code === 'missing-app-id')) {
      warnings.push({
        source: unit.name,
        code: 'missing-app-id',
        message: `no SparkListenerApplicationStart with an "App ID"; the id "${unit.fallbackAppId}" was taken from the file name.`,
      });
    }
  }
  if (!replayer.completed) {
    warnings.push({
      source: unit.name,
      code: 'incomplete',
      message: unit.inProgress
        ? 'the application is still running (in-progress log); the model is marked incomplete.'
        : 'the log has no SparkListenerApplicationEnd (the application crashed, is running, or the log was cut off); the model is marked incomplete.',
    });
  }
  return replayer.finish(unit.parts.map((p) => p.name));
}

function hasPrefixAny(pending: Buffer[], chunk: Buffer, from: number): boolean {
  const head = pending.length ? pending[0]! : chunk.subarray(from);
  return head.length >= 1 && head[0] === 123;
}

function notSpark(file: string, firstLine: string | undefined, empty = false): EventLogError {
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_NOT_SPARK',
    { file },
    empty
      ? "the file is empty: there are no events to read. Point at the application's event log (spark.eventLog.dir)."
      : `not a Spark event log: no line is a Spark listener event${firstLine !== undefined ? ` (starts with ${JSON.stringify(firstLine)})` : ''}. Point at files in spark.eventLog.dir.`,
  );
}

/** Display name of a file for messages. */
export function displayName(path: string): string {
  return basename(path);
}

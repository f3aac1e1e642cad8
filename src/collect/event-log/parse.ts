/**
 * Streams the bytes of one application attempt's log (one file, or the ordered parts of a rolling or
 * legacy log), splits lines without decoding the ones it skips, and feeds events to the replayer.
 * @module
 */
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventLogError, throwIfAborted } from '../../errors.js';
import type { ApplicationAttemptModel, CollectionStats, CollectionWarning } from '../../model/attempt.js';
import { bytesAt, quoteAt } from './bytes.js';
import { compressedCodecOf } from './codecs/detect.js';
import {
  DEFAULT_READ_SIZE,
  Input,
  KiB,
  readFileChunks,
  readFileChunksBlocking,
  toBuffer,
} from './codecs/io.js';
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

const TASK_END = 'SparkListenerTaskEnd';
const TASK_START = 'SparkListenerTaskStart';
const TASK_END_NAME = Buffer.from(`${TASK_END}"`);
const TASK_START_NAME = Buffer.from(`${TASK_START}"`);

/** `SparkListenerTaskEnd` or `SparkListenerTaskStart` when the event name at `at` is one of them. */
function taskEventAt(buf: Buffer, at: number, end: number): string | undefined {
  if (bytesAt(buf, at, end, TASK_END_NAME)) return TASK_END;
  if (bytesAt(buf, at, end, TASK_START_NAME)) return TASK_START;
  return undefined;
}

function hasPrefix(buf: Buffer, start: number, end: number): boolean {
  return end - start > EVENT_PREFIX.length && bytesAt(buf, start, end, EVENT_PREFIX);
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
 * One log's parse: its line splitting and per-line work, and what they gather. A class rather than
 * closures made per log, so that every log runs the same compiled `line` and `chunk` (V8 compiles each
 * new closure afresh, which a worker thread pays again per log).
 */
class LogParser {
  readonly stats: CollectionStats = { events: 0, unknownEvents: {}, malformedLines: 0, bytes: 0, tasks: 0 };
  readonly warnings: CollectionWarning[] = [];
  readonly replayer: EventReplayer;
  private readonly record = newTaskRecord();
  /** The part being read and the line number in it, as the replayer reports them. */
  readonly pos = { source: '', line: 0 };
  sparkLines = 0;
  nonEmptyLines = 0;
  firstBadLine: string | undefined = undefined;
  /**
   * The start of a line cut by a chunk's end, copied into `carry[0..carryLength)` (a buffer kept for the
   * log, grown to its longest cut line), waiting for the rest.
   */
  private carry: Buffer = Buffer.alloc(0);
  private carryLength = 0;
  private skippingLongLine = false;
  private reported = 0;

  constructor(
    private readonly maxLineBytes: number,
    exactQuantileValues: number,
  ) {
    this.replayer = new EventReplayer({ exactQuantileValues }, this.stats, this.warnings);
  }

  warn(code: string, message: string, line?: number): void {
    if (this.warnings.length >= 1000) return;
    const w: CollectionWarning = { source: this.pos.source, code, message };
    if (line !== undefined) w.line = line;
    this.warnings.push(w);
  }

  /** Starts the next part of the log (a file of a rolling log). */
  startPart(name: string): void {
    this.pos.source = name;
    this.pos.line = 0;
    this.carryLength = 0;
    this.skippingLongLine = false;
  }

  /** Splits `chunk` into lines and handles each whole one; the chunk is not kept. */
  chunk(chunk: Buffer): void {
    this.stats.bytes += chunk.length;
    let from = 0;
    let nl = chunk.indexOf(10, 0);
    while (nl >= 0) {
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        this.pos.line++;
      } else if (this.carryLength > 0) {
        this.append(chunk, from, nl);
        this.lineFromCarry(false);
      } else {
        this.line(chunk, from, nl, false);
      }
      if (this.sparkLines === 0 && this.nonEmptyLines >= SNIFF_LINES) {
        throw notSpark(this.pos.source, this.firstBadLine);
      }
      from = nl + 1;
      nl = chunk.indexOf(10, from);
    }
    if (from < chunk.length && !this.skippingLongLine) {
      if (
        this.sparkLines === 0 &&
        this.carryLength + chunk.length - from > 1 << 20 &&
        (this.carryLength > 0 ? this.carry[0] : chunk[from]) !== 123
      ) {
        throw notSpark(this.pos.source, this.firstBadLine);
      }
      this.append(chunk, from, chunk.length);
      if (this.carryLength > this.maxLineBytes) {
        this.carryLength = 0;
        this.carry = Buffer.alloc(0);
        this.skippingLongLine = true;
        this.warn(
          'line-too-long',
          `a line longer than ${this.maxLineBytes} bytes was skipped. Raise eventLog.maxLineBytes if it is a real event.`,
          this.pos.line + 1,
        );
      }
    }
  }

  /** Copies `src[start..end)` after the carried bytes, growing the carry buffer as needed. */
  private append(src: Buffer, start: number, end: number): void {
    const need = this.carryLength + end - start;
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2, 64 * 1024));
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    src.copy(this.carry, this.carryLength, start, end);
    this.carryLength = need;
  }

  /** Handles the carried line; a carry buffer grown past 1 MiB by a long line is let go. */
  private lineFromCarry(last: boolean): void {
    const length = this.carryLength;
    const carry = this.carry;
    this.carryLength = 0;
    if (carry.length > 1 << 20) this.carry = Buffer.alloc(0);
    this.line(carry, 0, length, last);
  }

  /** Handles the part's last line when it has no newline after it. */
  endPart(): void {
    if (this.carryLength > 0) this.lineFromCarry(true);
  }

  /** Tells `onBytes` how many bytes were read, every 8 MiB. */
  report(onBytes: ((bytes: number) => void) | undefined): void {
    if (onBytes && this.stats.bytes - this.reported > 8 << 20) {
      this.reported = this.stats.bytes;
      onBytes(this.stats.bytes);
    }
  }

  /** Handles one line, `buf[start..end)` without its newline; `last` when nothing follows it. */
  private line(buf: Buffer, start: number, end: number, last: boolean): void {
    const stats = this.stats;
    const pos = this.pos;
    pos.line++;
    if (end > start && buf[end - 1] === 13) end--;
    if (end <= start) return;
    this.nonEmptyLines++;
    if (this.sparkLines === 0) {
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
      const at = start + EVENT_PREFIX.length;
      const task = taskEventAt(buf, at, end);
      if (task !== undefined) name = task;
      else {
        const q = quoteAt(buf, at, end);
        if (q < end) name = buf.toString('latin1', at, q);
      }
    }
    let kind: Kind;
    let short: string;
    if (name !== undefined) {
      ({ kind, short } = classify(name));
      if (kind === Kind.Skipped || kind === Kind.Unknown) {
        // Recognised without parsing; a skipped line is still checked to be whole when it is the last one.
        this.sparkLines++;
        stats.events++;
        if (kind === Kind.Unknown) stats.unknownEvents[short] = (stats.unknownEvents[short] ?? 0) + 1;
        if (last && buf[end - 1] !== 125) {
          stats.events--;
          this.warn(
            'truncated-last-line',
            'the last line is cut off (the log is still being written or was truncated); it was skipped.',
            pos.line,
          );
        }
        return;
      }
      if ((kind === Kind.TaskEnd || kind === Kind.TaskStart) && (!last || buf[end - 1] === 125)) {
        // The hot path: read the task's fields from the bytes, no JSON objects.
        const record = this.record;
        if (scanTaskLine(buf, start, end, kind === Kind.TaskEnd, record)) {
          this.sparkLines++;
          stats.events++;
          if (kind === Kind.TaskEnd) this.replayer.taskEnd(record);
          else this.replayer.taskStart(record);
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
        this.warn(
          'truncated-last-line',
          'the last line is cut off (the log is still being written or was truncated); it was skipped.',
          pos.line,
        );
      } else {
        stats.malformedLines++;
        if (this.firstBadLine === undefined) this.firstBadLine = text.slice(0, 80);
        this.warn(
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
        if (this.firstBadLine === undefined) this.firstBadLine = text.slice(0, 80);
        this.warn('not-an-event', 'a JSON line without an "Event" field (skipped).', pos.line);
        return;
      }
      ({ kind, short } = classify(ev));
      if (kind === Kind.Skipped || kind === Kind.Unknown) {
        this.sparkLines++;
        stats.events++;
        if (kind === Kind.Unknown) stats.unknownEvents[short] = (stats.unknownEvents[short] ?? 0) + 1;
        return;
      }
    }
    this.sparkLines++;
    stats.events++;
    this.replayer.event(short, parsed, pos);
  }
}

/** The size of the reads of an uncompressed file on a thread that reads asynchronously. */
const ASYNC_PLAIN_READ_SIZE = 4096 * KiB;

/**
 * Reads an uncompressed file straight into `parser`, in two buffers used in turn, without the decoders'
 * layers of async generators (they cost something per chunk and, in every worker thread, the compiling of
 * their code). Returns false, having handed the parser nothing, when the file starts with compressed data
 * after all (a file renamed without its codec's extension): the decoders then read it, and say so.
 */
async function readPlainFile(
  file: string,
  label: string,
  parser: LogParser,
  options: ParseOptions,
): Promise<boolean> {
  // The parser is done with each chunk (a line cut by its end is copied) before the next read: the reader
  // may reuse its buffers. `Input` names read errors and does not wait for a read that hangs on abort.
  // An async read's result reaches the parser only through a turn of the event loop, so those reads are
  // larger: on the bench's folder, 4 MiB reads cut the calling thread's waits for them by about half.
  const input = new Input(
    options.blockingReads
      ? readFileChunksBlocking(file, DEFAULT_READ_SIZE, true)
      : readFileChunks(file, ASYNC_PLAIN_READ_SIZE, true),
    label,
    options.signal,
  );
  try {
    let chunk = await input.pull();
    if (chunk !== undefined && compressedCodecOf(chunk) !== undefined) return false;
    for (; chunk !== undefined; chunk = await input.pull()) {
      parser.chunk(toBuffer(chunk));
      parser.report(options.onBytes);
    }
    return true;
  } finally {
    await input.close();
  }
}

/**
 * Parse one log unit into the model of its application attempt.
 * Throws {@link EventLogError} when the unit is not a Spark event log at all; a malformed line mid-file is a
 * warning and parsing goes on.
 */
export async function parseLogUnit(unit: LogUnit, options: ParseOptions): Promise<ApplicationAttemptModel> {
  const parser = new LogParser(options.maxLineBytes, options.exactQuantileValues);
  const { stats, warnings, replayer } = parser;
  const signal = options.signal;
  for (const part of unit.parts) {
    throwIfAborted(signal);
    parser.startPart(part.name);
    try {
      const plain = part.codec === 'none' && part.location.entry === undefined;
      if (!(plain && (await readPlainFile(part.location.file, part.name, parser, options)))) {
        for await (const chunk of part.open({
          ...(signal ? { signal } : {}),
          ...(options.blockingReads ? { blockingReads: true } : {}),
          onWarning: (message: string) => parser.warn('codec', message),
        })) {
          throwIfAborted(signal);
          parser.chunk(chunk);
          parser.report(options.onBytes);
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
    parser.endPart();
  }
  options.onBytes?.(stats.bytes);
  if (parser.sparkLines === 0) {
    throw notSpark(unit.parts[0]?.name ?? unit.name, parser.firstBadLine, parser.nonEmptyLines === 0);
  }
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
  // The folder holding the log (for a rolling or Spark 1.2 log folder, the folder holding that folder);
  // none for a log inside a zip.
  const inZip = unit.parts.some((p) => p.location.entry !== undefined);
  const logSource = inZip ? undefined : pathToFileURL(dirname(unit.name)).href;
  return replayer.finish(
    unit.parts.map((p) => p.name),
    logSource,
  );
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

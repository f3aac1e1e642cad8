/**
 * Streaming decompression of Spark event-log files.
 *
 * Spark picks the codec of an event log from `spark.eventLog.compression.codec` and records it only in
 * the file name's extension (`app-1.zstd`, `events_1_app-1.lz4.inprogress`). The lz4, snappy and lzf
 * codecs are the Java libraries' own stream formats (lz4-java `LZ4BlockOutputStream`, snappy-java
 * `SnappyOutputStream`, ning `LZFOutputStream`), not the standard LZ4 / Snappy frame formats, so they are
 * decoded here. zstd files are standard zstd frames, many of them (Spark closes a frame on every flush).
 *
 * Every decoder streams: memory stays bounded by one compressed block plus one output chunk whatever the
 * file size. A file that ends in the middle of a block (an application still running, or a cut-off copy)
 * yields everything decodable and reports a warning; data that is not of the codec at all fails with
 * `SPARKPILOT_EVENTLOG_CODEC`, and damage in the middle of a stream with `SPARKPILOT_EVENTLOG_CORRUPT`.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';
import yauzl from 'yauzl';
import { AbortError, EventLogError, throwIfAborted } from '../../errors.js';

/** A compression codec Spark can write an event log with (plus `gzip`, seen in repackaged logs). */
export type CodecName = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf' | 'gzip';

/** All codec names, in a stable order. */
export const CODEC_NAMES: readonly CodecName[] = ['none', 'zstd', 'lz4', 'snappy', 'lzf', 'gzip'];

/** Which zstd implementation to use: the native `zstd-napi` binding, the pure-JS `fzstd`, or the first that loads. */
export type ZstdBackend = 'auto' | 'native' | 'js';

/** Options of {@link decodeFile} and {@link decodeStream}. */
export interface DecodeOptions {
  /** Cancels decoding: the iteration then throws `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Receives non-fatal problems, e.g. a file that ends in the middle of a compressed block
   * (an in-progress log). Each message starts with the file name.
   */
  onWarning?: (message: string) => void;
  /**
   * Size in bytes of the reads from the file (default 256 KiB). Yielded chunks are at least
   * `max(highWaterMark, 64 KiB)` bytes long, except the last one and blocks that are larger.
   */
  highWaterMark?: number;
  /**
   * zstd implementation (default `'auto'`: `zstd-napi` when its native binding loads, else `fzstd`).
   * `'native'` fails with `SPARKPILOT_EVENTLOG_CODEC` when the binding cannot be loaded.
   */
  zstdBackend?: ZstdBackend;
}

/** One file inside a zip archive, see {@link readZip}. */
export interface ZipEntry {
  /** Path of the entry inside the archive, e.g. `eventlog_v2_local-1/events_1_local-1.zstd`. */
  name: string;
  /** Size of the entry once unzipped (still compressed by Spark's codec, if any). */
  uncompressedSize: number;
  /**
   * Streams the unzipped bytes of the entry. Call it while the {@link readZip} iteration is still
   * running: the archive is closed when the iteration ends.
   */
  open(): AsyncIterable<Buffer>;
}

const KiB = 1024;
const DEFAULT_READ_SIZE = 1024 * KiB;
const MIN_OUTPUT_CHUNK = 64 * KiB;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------------
// Codec from file name
// ---------------------------------------------------------------------------------------------------

/**
 * The codec of an event-log file, from its name as Spark writes it: `<name>[.<codec>][.inprogress]`
 * (`.inprogress` and `.compact` suffixes are stripped first, as Spark's `EventLogFileWriter.codecName`
 * does). Besides Spark's `lz4`, `lzf`, `snappy` and `zstd`, `.zst` maps to zstd and `.gz` / `.gzip` to
 * gzip. Returns `'zip'` for `.zip` (see {@link readZip}) and `'none'` for no or any other extension.
 *
 * @example
 * ```ts
 * codecFromFileName('events_2_local-1623876083964.zstd'); // 'zstd'
 * codecFromFileName('app-20240101-0001.lz4.inprogress');   // 'lz4'
 * codecFromFileName('local-1430917381535_1');              // 'none'
 * ```
 */
export function codecFromFileName(fileName: string): CodecName | 'zip' {
  let name = (fileName.split(/[\\/]/).pop() ?? '').toLowerCase();
  for (;;) {
    if (name.endsWith('.inprogress')) name = name.slice(0, -'.inprogress'.length);
    else if (name.endsWith('.compact')) name = name.slice(0, -'.compact'.length);
    else break;
  }
  const dot = name.lastIndexOf('.');
  if (dot < 0) return 'none';
  switch (name.slice(dot + 1)) {
    case 'lz4':
      return 'lz4';
    case 'lzf':
      return 'lzf';
    case 'snappy':
      return 'snappy';
    case 'zstd':
    case 'zst':
      return 'zstd';
    case 'gz':
    case 'gzip':
      return 'gzip';
    case 'zip':
      return 'zip';
    // Spark 1.x legacy directories name the codec class: COMPRESSION_CODEC_org.apache.spark.io.LZFCompressionCodec
    case 'lz4compressioncodec':
      return 'lz4';
    case 'lzfcompressioncodec':
      return 'lzf';
    case 'snappycompressioncodec':
      return 'snappy';
    case 'zstdcompressioncodec':
      return 'zstd';
    default:
      return 'none';
  }
}

const LZ4_MAGIC = Buffer.from('LZ4Block', 'latin1');
const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_MAGIC_BYTES = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Guesses the codec from the first bytes of a file (at least 8 are needed for lz4 and snappy).
 * Returns `'zip'` for a zip archive, `'none'` for what looks like uncompressed JSON lines, and
 * `undefined` when nothing matches.
 */
export function sniffCodec(head: Uint8Array): CodecName | 'zip' | undefined {
  if (startsWith(head, 0, LZ4_MAGIC)) return 'lz4';
  if (startsWith(head, 0, SNAPPY_MAGIC)) return 'snappy';
  if (head.length >= 4) {
    const magic = readU32LE(head, 0);
    if (magic === ZSTD_MAGIC || (magic & 0xfffffff0) >>> 0 === 0x184d2a50) return 'zstd';
    if (magic === 0x04034b50 || magic === 0x06054b50) return 'zip';
  }
  if (head.length >= 3 && head[0] === 0x5a && head[1] === 0x56 && (head[2] === 0 || head[2] === 1))
    return 'lzf';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09))
    i++;
  if (i < head.length && head[i] === 0x7b) return 'none'; // '{'
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Public decoding API
// ---------------------------------------------------------------------------------------------------

/**
 * Decompresses an event-log file with `codec`, yielding the decompressed bytes as Buffers.
 * Streams with constant memory whatever the file size; chunk boundaries fall anywhere (not on lines).
 *
 * Errors (thrown by the iteration, as {@link EventLogError} naming the file):
 * `SPARKPILOT_EVENTLOG_NOT_FOUND` / `SPARKPILOT_EVENTLOG_UNREADABLE` when the file cannot be read,
 * `SPARKPILOT_EVENTLOG_CODEC` when the data is not of the codec (wrong extension),
 * `SPARKPILOT_EVENTLOG_CORRUPT` (with the byte offset) when the data is damaged mid-stream.
 * A file ending in the middle of a block is not an error: see {@link DecodeOptions.onWarning}.
 *
 * @example
 * ```ts
 * for await (const chunk of decodeFile(path, codecFromFileName(path) as CodecName, { onWarning: console.warn })) {
 *   lineSplitter.push(chunk);
 * }
 * ```
 */
export function decodeFile(
  path: string,
  codec: CodecName,
  options: DecodeOptions = {},
): AsyncIterable<Buffer> {
  const readSize = chunkOption(options.highWaterMark);
  return decodeStream(readFileChunks(path, readSize), codec, path, options);
}

/**
 * Like {@link decodeFile}, over bytes that are already being read, e.g. a zip entry's
 * {@link ZipEntry.open}. `label` names the input in errors and warnings (a path, a URL, `a.zip!entry`).
 */
export function decodeStream(
  source: AsyncIterable<Uint8Array>,
  codec: CodecName,
  label: string,
  options: DecodeOptions = {},
): AsyncIterable<Buffer> {
  return decodeGenerator(source, codec, label, options);
}

/** Whether the native zstd binding (`zstd-napi`, an optional dependency) loads on this machine. */
export function zstdNativeAvailable(): boolean {
  return loadNativeZstd() !== null;
}

/**
 * Lists the entries of a zip archive, e.g. a History Server `/api/v1/applications/{id}/logs` download
 * (a zip of the raw event-log files, each possibly compressed by Spark's codec; rolling logs appear as
 * `eventlog_v2_<app>/events_<n>_<app>[.<codec>]`). Directory entries are skipped. Decode an entry with
 * `decodeStream(entry.open(), codecFromFileName(entry.name), ...)` while the iteration runs; the archive
 * is closed when the iteration ends (or is abandoned).
 *
 * Fails with `SPARKPILOT_EVENTLOG_NOT_FOUND` / `_UNREADABLE` when the file cannot be read and with
 * `SPARKPILOT_EVENTLOG_CODEC` when it is not a zip archive.
 */
export function readZip(path: string, options: { signal?: AbortSignal } = {}): AsyncIterable<ZipEntry> {
  return readZipGenerator(path, options.signal);
}

// ---------------------------------------------------------------------------------------------------
// Input and output plumbing
// ---------------------------------------------------------------------------------------------------

function chunkOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_READ_SIZE;
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`highWaterMark must be >= 1, got ${value}`);
  return Math.floor(value);
}

async function* readFileChunks(path: string, highWaterMark: number): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } finally {
    stream.destroy();
  }
}

/** Resolves with `promise`, or rejects with the abort reason as soon as `signal` aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new AbortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function wrapReadError(err: unknown, file: string): unknown {
  if (err instanceof EventLogError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') {
    return new EventLogError('SPARKPILOT_EVENTLOG_NOT_FOUND', { file }, 'no such file. Check the path.', {
      cause: err,
    });
  }
  if (code === 'EISDIR') {
    return new EventLogError(
      'SPARKPILOT_EVENTLOG_UNREADABLE',
      { file },
      'is a directory, not an event-log file (a rolling log directory eventlog_v2_* is read part by part).',
      { cause: err },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new EventLogError(
      'SPARKPILOT_EVENTLOG_UNREADABLE',
      { file },
      'permission denied. Make the file readable by this user.',
      { cause: err },
    );
  }
  return new EventLogError('SPARKPILOT_EVENTLOG_UNREADABLE', { file }, `could not be read: ${message}`, {
    cause: err,
  });
}

/**
 * Pull-based reader over the source chunks. Block decoders use `fill(n)` to see `n` contiguous bytes at
 * `buf[pos]`; bytes are copied only when a unit straddles chunks.
 */
class Input {
  buf: Uint8Array = EMPTY;
  pos = 0;
  /** Absolute offset of `buf[0]` in the input. */
  base = 0;
  private done = false;
  private pending = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(
    source: AsyncIterable<Uint8Array>,
    readonly label: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Bytes available at `pos` without pulling. */
  get avail(): number {
    return this.buf.length - this.pos;
  }

  /** Absolute offset of `buf[pos]`. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** The next chunk of the source (never empty), or `undefined` at its end. */
  async pull(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.done) return undefined;
      throwIfAborted(this.signal);
      let result: IteratorResult<Uint8Array>;
      this.pending = true;
      try {
        result = await (this.signal ? raceAbort(this.it.next(), this.signal) : this.it.next());
        this.pending = false;
      } catch (err) {
        if (this.signal?.aborted) throw this.signal.reason ?? new AbortError();
        this.pending = false;
        this.done = true;
        throw wrapReadError(err, this.label);
      }
      if (result.done) {
        this.done = true;
        return undefined;
      }
      const chunk = result.value;
      if (chunk.length === 0) continue;
      return chunk;
    }
  }

  /** Makes at least `n` bytes available at `buf[pos]`; false when the source ends first. */
  async fill(n: number): Promise<boolean> {
    if (this.buf.length - this.pos >= n) return true;
    const parts: Uint8Array[] = [];
    let have = this.buf.length - this.pos;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    const start = this.base + this.pos;
    while (have < n) {
      const chunk = await this.pull();
      if (chunk === undefined) break;
      parts.push(chunk);
      have += chunk.length;
    }
    this.buf = parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts, have);
    this.pos = 0;
    this.base = start;
    return have >= n;
  }

  async close(): Promise<void> {
    this.done = true;
    const ret = this.it.return?.bind(this.it);
    if (!ret) return;
    if (this.pending) {
      // A read is still outstanding (we were aborted): do not wait for it.
      Promise.resolve()
        .then(ret)
        .catch(() => {});
      return;
    }
    try {
      await ret();
    } catch {
      // closing failures are not interesting
    }
  }
}

/** Accumulates decoded bytes into chunks of at least `size` bytes. */
class Output {
  buf: Buffer = EMPTY;
  pos = 0;

  constructor(readonly size: number) {}

  /** True when `n` more bytes fit. */
  room(n: number): boolean {
    return this.buf.length - this.pos >= n;
  }

  /** The bytes written so far; the next write starts a new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = EMPTY;
    this.pos = 0;
    return out;
  }

  /** Starts a fresh buffer with room for `n` bytes. Call only after `take()` (or when empty). */
  fresh(n: number): void {
    this.buf = Buffer.allocUnsafe(Math.max(this.size, n));
    this.pos = 0;
  }
}

interface Ctx {
  input: Input;
  out: Output;
  label: string;
  options: DecodeOptions;
}

const TRUNCATED =
  'compressed data ends in the middle of a block (the log is probably still being written or was cut off)';

function warnTruncated(ctx: Ctx, bytes: number): void {
  ctx.options.onWarning?.(`${ctx.label}: ${TRUNCATED}; the last ${bytes} bytes were not decoded`);
}

function describeHead(head: Uint8Array): string {
  const bytes = head.subarray(0, 16);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return bytes.length === 0 ? 'nothing' : `${hex} "${text}"${head.length > 16 ? '…' : ''}`;
}

const CODEC_WHAT: Record<CodecName, string> = {
  none: 'uncompressed',
  zstd: 'zstd',
  lz4: 'lz4-java LZ4Block',
  snappy: 'snappy-java SnappyOutputStream',
  lzf: 'ning LZF',
  gzip: 'gzip',
};

/** The data at offset 0 is not of the codec: most likely a wrong extension. */
function notCodec(ctx: Ctx, codec: CodecName, head: Uint8Array): EventLogError {
  const guess = sniffCodec(head);
  let hint = '';
  if (guess === 'none') hint = ' The data looks like an uncompressed event log.';
  else if (guess === 'zip') hint = ' The data looks like a zip archive (read it with readZip).';
  else if (guess !== undefined && guess !== codec) hint = ` The data looks like ${CODEC_WHAT[guess]} data.`;
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CODEC',
    { file: ctx.label },
    `not ${CODEC_WHAT[codec]} data (starts with ${describeHead(head)}). Check the file's extension matches ` +
      `spark.eventLog.compression.codec (Spark names files <appId>[.lz4|.lzf|.snappy|.zstd]).${hint}`,
  );
}

function corrupt(ctx: Ctx, codec: CodecName, offset: number, detail: string, cause?: unknown): EventLogError {
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: ctx.label },
    `corrupt ${CODEC_WHAT[codec]} data at byte ${offset}: ${detail}. The file is damaged (a partial or ` +
      'altered copy?); copy it again from its source.',
    cause === undefined ? undefined : { cause },
  );
}

/** At the start of the input a bad header means "wrong codec", later it means "corrupt". */
function badHeader(ctx: Ctx, codec: CodecName, at: number, head: Uint8Array, detail: string): EventLogError {
  return at === 0 ? notCodec(ctx, codec, head) : corrupt(ctx, codec, at, detail);
}

function startsWith(b: Uint8Array, p: number, magic: Uint8Array): boolean {
  if (b.length - p < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[p + i] !== magic[i]) return false;
  return true;
}

/** True when the `n` bytes at `b[p]` are a prefix of `magic`. */
function isPrefixOf(b: Uint8Array, p: number, n: number, magic: Uint8Array): boolean {
  for (let i = 0; i < n && i < magic.length; i++) if (b[p + i] !== magic[i]) return false;
  return true;
}

function readU32LE(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function readI32LE(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

function readI32BE(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** Copies an LZ77 match of `len` bytes from `off` bytes back (overlap repeats the pattern). */
function copyMatch(dst: Uint8Array, d: number, off: number, len: number): void {
  const m = d - off;
  if (len < 32) {
    for (let i = 0; i < len; i++) dst[d + i] = dst[m + i]!;
    return;
  }
  // Non-overlapping pieces of a growing period: off, 2*off, 4*off, ...
  let done = 0;
  while (done < len) {
    const n = Math.min(d + done - m, len - done);
    dst.copyWithin(d + done, m, m + n);
    done += n;
  }
}

function copyLiteral(src: Uint8Array, s: number, dst: Uint8Array, d: number, len: number): void {
  if (len < 32) {
    for (let i = 0; i < len; i++) dst[d + i] = src[s + i]!;
  } else {
    dst.set(src.subarray(s, s + len), d);
  }
}

// ---------------------------------------------------------------------------------------------------
// Dispatcher
// ---------------------------------------------------------------------------------------------------

async function* decodeGenerator(
  source: AsyncIterable<Uint8Array>,
  codec: CodecName,
  label: string,
  options: DecodeOptions,
): AsyncGenerator<Buffer> {
  const readSize = chunkOption(options.highWaterMark);
  throwIfAborted(options.signal);
  const input = new Input(source, label, options.signal);
  const ctx: Ctx = { input, out: new Output(Math.max(readSize, MIN_OUTPUT_CHUNK)), label, options };
  try {
    switch (codec) {
      case 'none':
        yield* decodeNone(ctx);
        break;
      case 'lz4':
        yield* decodeLz4(ctx);
        break;
      case 'snappy':
        yield* decodeSnappy(ctx);
        break;
      case 'lzf':
        yield* decodeLzf(ctx);
        break;
      case 'zstd':
        yield* decodeZstd(ctx);
        break;
      case 'gzip':
        yield* decodeGzip(ctx);
        break;
      default:
        throw new EventLogError(
          'SPARKPILOT_EVENTLOG_CODEC',
          { file: label },
          `unknown codec ${JSON.stringify(codec)}; expected one of ${CODEC_NAMES.join(', ')}.`,
        );
    }
  } finally {
    await input.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// none
// ---------------------------------------------------------------------------------------------------

async function* decodeNone(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  // A compressed file without a codec extension (a renamed or downloaded copy) is decoded anyway.
  if (!(await input.fill(8)) && input.avail === 0) return;
  const guess = sniffCodec(input.buf.subarray(input.pos, input.pos + 8));
  if (guess !== undefined && guess !== 'none' && guess !== 'zip') {
    ctx.options.onWarning?.(
      `${ctx.label}: the file name has no codec extension but the data is ${CODEC_WHAT[guess]}; ` +
        `decoding it as ${guess}`,
    );
    yield* decodeSniffed(ctx, guess);
    return;
  }
  let bytes: Uint8Array | undefined = input.buf.subarray(input.pos);
  input.buf = EMPTY;
  input.pos = 0;
  while (bytes !== undefined) {
    if (out.pos === 0 && bytes.length >= out.size) {
      yield toBuffer(bytes);
    } else {
      let p = 0;
      while (p < bytes.length) {
        if (out.buf.length === out.pos) {
          if (out.pos > 0) yield out.take();
          out.fresh(0);
        }
        const n = Math.min(bytes.length - p, out.buf.length - out.pos);
        out.buf.set(bytes.subarray(p, p + n), out.pos);
        out.pos += n;
        p += n;
      }
    }
    bytes = await input.pull();
  }
  yield* flush(out);
}

function decodeSniffed(ctx: Ctx, codec: CodecName): AsyncGenerator<Buffer> {
  switch (codec) {
    case 'lz4':
      return decodeLz4(ctx);
    case 'snappy':
      return decodeSnappy(ctx);
    case 'lzf':
      return decodeLzf(ctx);
    case 'zstd':
      return decodeZstd(ctx);
    default:
      return decodeGzip(ctx);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------------
// lz4: lz4-java LZ4BlockOutputStream
// ---------------------------------------------------------------------------------------------------

const LZ4_HEADER = 21; // magic(8) token(1) compressedLen(4) decompressedLen(4) checksum(4)
const LZ4_METHOD_RAW = 0x10;
const LZ4_METHOD_LZ4 = 0x20;
const LZ4_CHECKSUM_SEED = 0x9747b28c;

async function* decodeLz4(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  for (;;) {
    if (!(await input.fill(LZ4_HEADER))) {
      const rest = input.avail;
      if (rest === 0) break;
      if (!isPrefixOf(input.buf, input.pos, rest, LZ4_MAGIC)) {
        throw badHeader(
          ctx,
          'lz4',
          input.offset,
          input.buf.subarray(input.pos),
          'expected an LZ4Block header',
        );
      }
      warnTruncated(ctx, rest);
      return yield* flush(out);
    }
    const at = input.offset;
    let b = input.buf;
    let p = input.pos;
    if (!startsWith(b, p, LZ4_MAGIC)) {
      throw badHeader(
        ctx,
        'lz4',
        at,
        b.subarray(p),
        `expected an LZ4Block header, found ${describeHead(b.subarray(p, p + 8))}`,
      );
    }
    const token = b[p + 8]!;
    const method = token & 0xf0;
    const maxLen = 1 << (10 + (token & 0x0f));
    const clen = readI32LE(b, p + 9);
    const ulen = readI32LE(b, p + 13);
    const check = readI32LE(b, p + 17);
    if (
      (method !== LZ4_METHOD_RAW && method !== LZ4_METHOD_LZ4) ||
      clen < 0 ||
      ulen < 0 ||
      ulen > maxLen ||
      (ulen === 0) !== (clen === 0) ||
      (method === LZ4_METHOD_RAW && clen !== ulen) ||
      clen > ulen + Math.floor(ulen / 255) + 16 // LZ4_compressBound: bounds what a damaged header can make us buffer
    ) {
      throw corrupt(
        ctx,
        'lz4',
        at,
        `invalid LZ4Block header (token 0x${token.toString(16)}, ${clen} -> ${ulen} bytes)`,
      );
    }
    if (ulen === 0) {
      // End of one LZ4BlockOutputStream; another may follow (Spark reads concatenated streams).
      input.pos = p + LZ4_HEADER;
      continue;
    }
    if (!(await input.fill(LZ4_HEADER + clen))) {
      warnTruncated(ctx, input.avail);
      return yield* flush(out);
    }
    b = input.buf;
    p = input.pos + LZ4_HEADER;
    if (!out.room(ulen)) {
      if (out.pos > 0) yield out.take();
      out.fresh(ulen);
    }
    const dst = out.buf;
    const d = out.pos;
    if (method === LZ4_METHOD_RAW) {
      dst.set(b.subarray(p, p + clen), d);
    } else if (lz4DecodeBlock(b, p, p + clen, dst, d, d + ulen) !== ulen) {
      throw corrupt(ctx, 'lz4', at, 'the LZ4 block does not decode to its declared length');
    }
    if ((xxh32(dst, d, ulen, LZ4_CHECKSUM_SEED) & 0x0fffffff) !== (check & 0x0fffffff)) {
      throw corrupt(ctx, 'lz4', at, 'block checksum mismatch');
    }
    out.pos = d + ulen;
    input.pos = p + clen;
  }
  yield* flush(out);
}

async function* flush(out: Output): AsyncGenerator<Buffer> {
  if (out.pos > 0) yield out.take();
}

/**
 * Decodes one raw LZ4 block `src[s, sEnd)` into `dst[d, dEnd)`. Returns the decoded length, or -1 when
 * the block is malformed (never reads or writes out of bounds).
 */
function lz4DecodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
): number {
  const dStart = d;
  while (s < sEnd) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= sEnd) return -1;
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > 0) {
      if (s + lit > sEnd || d + lit > dEnd) return -1;
      copyLiteral(src, s, dst, d, lit);
      s += lit;
      d += lit;
    }
    if (s >= sEnd) break; // the last sequence has literals only
    if (s + 2 > sEnd) return -1;
    const off = src[s]! | (src[s + 1]! << 8);
    s += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (s >= sEnd) return -1;
        b = src[s++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (off === 0 || off > d - dStart || d + len > dEnd) return -1;
    copyMatch(dst, d, off, len);
    d += len;
  }
  return d - dStart;
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** xxHash32 of `b[off, off+len)`. */
function xxh32(b: Uint8Array, off: number, len: number, seed: number): number {
  const end = off + len;
  let p = off;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (p <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(readI32LE(b, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(readI32LE(b, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(readI32LE(b, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(readI32LE(b, p + 12), P2)) | 0, 13), P1);
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(readI32LE(b, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(b[p]!, P5)) | 0, 11), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------------
// snappy: snappy-java SnappyOutputStream
// ---------------------------------------------------------------------------------------------------

const SNAPPY_HEADER = 16; // magic(8) version(4 BE) compatibleVersion(4 BE)
/** Far above snappy-java's block sizes (Spark: spark.io.compression.snappy.blockSize, 32 KiB by default). */
const SNAPPY_MAX_BLOCK = 64 * 1024 * KiB;

async function* decodeSnappy(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  let sawHeader = false;
  for (;;) {
    if (!(await input.fill(4))) {
      const rest = input.avail;
      if (rest === 0) break;
      if (!sawHeader && !isPrefixOf(input.buf, input.pos, rest, SNAPPY_MAGIC)) {
        throw notCodec(ctx, 'snappy', input.buf.subarray(input.pos));
      }
      warnTruncated(ctx, rest);
      return yield* flush(out);
    }
    const at = input.offset;
    if (input.buf[input.pos] === SNAPPY_MAGIC[0]) {
      // A stream header: at the start, and again wherever another stream was appended.
      if (!(await input.fill(SNAPPY_HEADER))) {
        if (!isPrefixOf(input.buf, input.pos, input.avail, SNAPPY_MAGIC)) {
          throw badHeader(ctx, 'snappy', at, input.buf.subarray(input.pos), 'expected a SNAPPY header');
        }
        warnTruncated(ctx, input.avail);
        return yield* flush(out);
      }
      if (!startsWith(input.buf, input.pos, SNAPPY_MAGIC)) {
        throw badHeader(ctx, 'snappy', at, input.buf.subarray(input.pos), 'expected a SNAPPY header');
      }
      sawHeader = true;
      input.pos += SNAPPY_HEADER;
      continue;
    }
    if (!sawHeader) throw notCodec(ctx, 'snappy', input.buf.subarray(input.pos));
    const clen = readI32BE(input.buf, input.pos);
    if (clen < 0 || clen > SNAPPY_MAX_BLOCK) {
      throw corrupt(ctx, 'snappy', at, `invalid block length ${clen}`);
    }
    if (!(await input.fill(4 + clen))) {
      warnTruncated(ctx, input.avail);
      return yield* flush(out);
    }
    const b = input.buf;
    let p = input.pos + 4;
    const end = p + clen;
    input.pos = end;
    if (clen === 0) continue;
    // Raw snappy block: varint uncompressed length, then tagged elements.
    let ulen = 0;
    let shift = 0;
    for (;;) {
      if (p >= end || shift > 28) throw corrupt(ctx, 'snappy', at, 'invalid block length varint');
      const c = b[p++]!;
      ulen += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) break;
      shift += 7;
    }
    if (ulen > clen * 64 + 64 || ulen > SNAPPY_MAX_BLOCK) {
      throw corrupt(ctx, 'snappy', at, `implausible block size ${ulen} for ${clen} compressed bytes`);
    }
    if (!out.room(ulen)) {
      if (out.pos > 0) yield out.take();
      out.fresh(ulen);
    }
    if (snappyDecodeBlock(b, p, end, out.buf, out.pos, out.pos + ulen) !== ulen) {
      throw corrupt(ctx, 'snappy', at, 'the snappy block does not decode to its declared length');
    }
    out.pos += ulen;
  }
  yield* flush(out);
}

/** Decodes the elements of a raw snappy block into `dst[d, dEnd)`; -1 when malformed. */
function snappyDecodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
): number {
  const dStart = d;
  while (s < sEnd) {
    const c = src[s++]!;
    const type = c & 3;
    if (type === 0) {
      let len = c >>> 2;
      if (len >= 60) {
        const nb = len - 59;
        if (s + nb > sEnd) return -1;
        len = src[s]!;
        if (nb > 1) len |= src[s + 1]! << 8;
        if (nb > 2) len |= src[s + 2]! << 16;
        if (nb > 3) len = (len | (src[s + 3]! << 24)) >>> 0;
        s += nb;
      }
      len += 1;
      if (s + len > sEnd || d + len > dEnd) return -1;
      copyLiteral(src, s, dst, d, len);
      s += len;
      d += len;
      continue;
    }
    let len: number;
    let off: number;
    if (type === 1) {
      if (s >= sEnd) return -1;
      len = ((c >>> 2) & 7) + 4;
      off = ((c >>> 5) << 8) | src[s++]!;
    } else if (type === 2) {
      if (s + 2 > sEnd) return -1;
      len = (c >>> 2) + 1;
      off = src[s]! | (src[s + 1]! << 8);
      s += 2;
    } else {
      if (s + 4 > sEnd) return -1;
      len = (c >>> 2) + 1;
      off = readU32LE(src, s);
      s += 4;
    }
    if (off === 0 || off > d - dStart || d + len > dEnd) return -1;
    copyMatch(dst, d, off, len);
    d += len;
  }
  return d - dStart;
}

// ---------------------------------------------------------------------------------------------------
// lzf: ning compress-lzf chunks
// ---------------------------------------------------------------------------------------------------

const LZF_Z = 0x5a;
const LZF_V = 0x56;
const LZF_MAGIC = Buffer.from([LZF_Z, LZF_V]);

async function* decodeLzf(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  for (;;) {
    if (!(await input.fill(5))) {
      const rest = input.avail;
      if (rest === 0) break;
      const b = input.buf;
      const p = input.pos;
      if (!isPrefixOf(b, p, rest, LZF_MAGIC) || (rest > 2 && b[p + 2]! > 1)) {
        throw badHeader(ctx, 'lzf', input.offset, b.subarray(p), 'expected an LZF chunk header');
      }
      warnTruncated(ctx, rest);
      return yield* flush(out);
    }
    const at = input.offset;
    let b = input.buf;
    let p = input.pos;
    const type = b[p + 2]!;
    if (b[p] !== LZF_Z || b[p + 1] !== LZF_V || type > 1) {
      throw badHeader(
        ctx,
        'lzf',
        at,
        b.subarray(p),
        `expected an LZF chunk header, found ${describeHead(b.subarray(p, p + 3))}`,
      );
    }
    let header = 5;
    const clen = (b[p + 3]! << 8) | b[p + 4]!;
    let ulen = clen;
    if (type === 1) {
      header = 7;
      if (!(await input.fill(7))) {
        warnTruncated(ctx, input.avail);
        return yield* flush(out);
      }
      b = input.buf;
      p = input.pos;
      ulen = (b[p + 5]! << 8) | b[p + 6]!;
    }
    if (!(await input.fill(header + clen))) {
      warnTruncated(ctx, input.avail);
      return yield* flush(out);
    }
    b = input.buf;
    p = input.pos + header;
    input.pos = p + clen;
    if (ulen === 0) continue;
    if (!out.room(ulen)) {
      if (out.pos > 0) yield out.take();
      out.fresh(ulen);
    }
    if (type === 0) {
      out.buf.set(b.subarray(p, p + clen), out.pos);
    } else if (lzfDecodeChunk(b, p, p + clen, out.buf, out.pos, out.pos + ulen) !== ulen) {
      throw corrupt(ctx, 'lzf', at, 'the LZF chunk does not decode to its declared length');
    }
    out.pos += ulen;
  }
  yield* flush(out);
}

/** Decodes LZF-compressed `src[s, sEnd)` into `dst[d, dEnd)`; -1 when malformed. */
function lzfDecodeChunk(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
): number {
  const dStart = d;
  while (s < sEnd) {
    const ctrl = src[s++]!;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (s + len > sEnd || d + len > dEnd) return -1;
      copyLiteral(src, s, dst, d, len);
      s += len;
      d += len;
      continue;
    }
    let len = ctrl >>> 5;
    if (len === 7) {
      if (s >= sEnd) return -1;
      len += src[s++]!;
    }
    if (s >= sEnd) return -1;
    const off = ((ctrl & 31) << 8) + src[s++]! + 1;
    len += 2;
    if (off > d - dStart || d + len > dEnd) return -1;
    copyMatch(dst, d, off, len);
    d += len;
  }
  return d - dStart;
}

// ---------------------------------------------------------------------------------------------------
// zstd: concatenated standard frames
// ---------------------------------------------------------------------------------------------------

interface NativeDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}
interface NativeZstd {
  DCtx: new () => NativeDCtx;
}

let nativeZstd: NativeZstd | null | undefined;
let nativeZstdError: unknown;

/** Loads `zstd-napi`'s binding once; null when the optional native module is missing or broken. */
function loadNativeZstd(): NativeZstd | null {
  if (nativeZstd === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const binding = require('zstd-napi/binding') as NativeZstd;
      new binding.DCtx(); // fails now rather than mid-file if the binding is unusable
      nativeZstd = binding;
    } catch (err) {
      nativeZstd = null;
      nativeZstdError = err;
    }
  }
  return nativeZstd;
}

enum Z {
  Magic,
  SkippableSize,
  FrameHeaderDescriptor,
  BlockHeader,
}
enum After {
  FrameHeader,
  Block,
  Checksum,
  Skippable,
}

const ZSTD_MAX_BLOCK = 128 * KiB;

/**
 * Walks the zstd frame and block headers (not the compressed contents) of the input as it streams by,
 * so the decoders know where frames end, where the last complete block ends (for truncated input), and
 * catch non-zstd data before the decompressor sees it.
 */
class ZstdScanner {
  /** Absolute offset of the next byte to scan. */
  offset = 0;
  /** Absolute offset just after the last complete block, frame or skippable frame. */
  complete = 0;
  frames = 0;
  /** Absolute offset of the current frame's first byte. */
  frameStart = 0;
  error: { offset: number; detail: string; head: Uint8Array } | undefined;
  private state = Z.Magic;
  private readonly hdr = new Uint8Array(4);
  private hlen = 0;
  private need = 4;
  private skip = 0;
  private after = After.FrameHeader;
  private lastBlock = false;
  private checksum = false;

  /** True between frames (nothing partially scanned). */
  get atBoundary(): boolean {
    return this.state === Z.Magic && this.hlen === 0 && this.skip === 0;
  }

  /**
   * Scans `chunk`, pushing the absolute end offset of every frame that ends in it to `frameEnds`.
   * Returns the chunk length, or the chunk-relative offset where invalid data starts (see `error`).
   */
  scan(chunk: Uint8Array, frameEnds: number[] | undefined): number {
    const n = chunk.length;
    const base = this.offset;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - i);
        i += k;
        this.skip -= k;
        if (this.skip > 0) break;
        if (this.afterSkip(base + i)) frameEnds?.push(base + i);
        continue;
      }
      this.hdr[this.hlen++] = chunk[i++]!;
      if (this.hlen < this.need) continue;
      this.hlen = 0;
      const at = base + i - this.need;
      const h = this.hdr;
      switch (this.state) {
        case Z.Magic: {
          const magic = readU32LE(h, 0);
          this.frameStart = at;
          if (magic === ZSTD_MAGIC) {
            this.state = Z.FrameHeaderDescriptor;
            this.need = 1;
          } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
            this.state = Z.SkippableSize;
            this.need = 4;
          } else {
            return this.fail(chunk, i - 4, at, 'expected a zstd frame (magic 28 b5 2f fd)');
          }
          break;
        }
        case Z.SkippableSize:
          this.startSkip(readU32LE(h, 0), After.Skippable);
          if (this.skip === 0 && this.afterSkip(base + i)) frameEnds?.push(base + i);
          break;
        case Z.FrameHeaderDescriptor: {
          const fhd = h[0]!;
          if (fhd & 0x08) return this.fail(chunk, i - 1, at, 'reserved bit set in the frame header');
          const single = (fhd >>> 5) & 1;
          const fcs = fhd >>> 6;
          const rest =
            (single ? 0 : 1) +
            [0, 1, 2, 4][fhd & 3]! +
            (fcs === 0 ? single : fcs === 1 ? 2 : fcs === 2 ? 4 : 8);
          this.checksum = (fhd & 0x04) !== 0;
          this.startSkip(rest, After.FrameHeader);
          if (this.skip === 0) this.afterSkip(base + i);
          break;
        }
        case Z.BlockHeader: {
          const bh = h[0]! | (h[1]! << 8) | (h[2]! << 16);
          const type = (bh >>> 1) & 3;
          const size = bh >>> 3;
          if (type === 3) return this.fail(chunk, i - 3, at, 'reserved block type');
          if (size > ZSTD_MAX_BLOCK)
            return this.fail(chunk, i - 3, at, `block of ${size} bytes (max 128 KiB)`);
          this.lastBlock = (bh & 1) === 1;
          this.startSkip(type === 1 ? 1 : size, After.Block);
          if (this.skip === 0 && this.afterSkip(base + i)) frameEnds?.push(base + i);
          break;
        }
      }
    }
    this.offset = base + n;
    return n;
  }

  /** The bytes of a frame magic number cut short by the end of the input, if that is where it ended. */
  partialMagic(): Uint8Array | undefined {
    return this.state === Z.Magic && this.skip === 0 ? this.hdr.slice(0, this.hlen) : undefined;
  }

  private startSkip(n: number, after: After): void {
    this.skip = n;
    this.after = after;
  }

  /** Called when a skip completes at absolute offset `pos`; true when a frame ended there. */
  private afterSkip(pos: number): boolean {
    switch (this.after) {
      case After.FrameHeader:
        this.state = Z.BlockHeader;
        this.need = 3;
        return false;
      case After.Block:
        this.complete = pos;
        if (!this.lastBlock) {
          this.state = Z.BlockHeader;
          this.need = 3;
          return false;
        }
        if (this.checksum) {
          this.startSkip(4, After.Checksum);
          return false;
        }
        return this.endFrame(pos);
      default:
        return this.endFrame(pos);
    }
  }

  private endFrame(pos: number): boolean {
    this.complete = pos;
    this.frames++;
    this.state = Z.Magic;
    this.need = 4;
    return true;
  }

  private fail(chunk: Uint8Array, index: number, at: number, detail: string): number {
    const start = Math.max(0, index);
    this.error = { offset: at, detail, head: chunk.subarray(start, start + 16) };
    this.offset = at;
    return start;
  }
}

async function* decodeZstd(ctx: Ctx): AsyncGenerator<Buffer> {
  const backend = ctx.options.zstdBackend ?? 'auto';
  const native = backend === 'js' ? null : loadNativeZstd();
  if (backend === 'native' && native === null) {
    const why = nativeZstdError instanceof Error ? nativeZstdError.message : String(nativeZstdError);
    throw new EventLogError(
      'SPARKPILOT_EVENTLOG_CODEC',
      { file: ctx.label },
      `the native zstd decoder (optional dependency zstd-napi) could not be loaded: ${why}. ` +
        "Reinstall dependencies, or use zstdBackend: 'auto' to fall back to the JavaScript decoder.",
      { cause: nativeZstdError },
    );
  }
  const { input, out } = ctx;
  const scanner = new ZstdScanner();
  const dctx = native ? new native.DCtx() : undefined;
  const pieces: Uint8Array[] = [];
  const js = dctx ? undefined : new FzstdDecompress((data) => pieces.push(data));
  // Scanned bytes not yet given to the decoder (at most one incomplete block), as views, with the
  // absolute offset of the first. Only complete blocks are decoded, so both backends stop at the same
  // byte on truncated input (zstd-napi would otherwise emit part of a raw block).
  const queue: Uint8Array[] = [];
  let queueStart = 0;
  const frameEnds: number[] = [];
  let head: Uint8Array | undefined;

  /** Gives `bytes` (absolute offset `at`) to the decoder; fills `out` / `pieces`. */
  function* feed(bytes: Uint8Array, at: number): Generator<Buffer> {
    if (dctx) {
      let src = bytes;
      while (src.length > 0) {
        if (out.buf.length === out.pos) {
          if (out.pos > 0) yield out.take();
          out.fresh(0);
        }
        const [, produced, consumed] = dctx.decompressStream(out.buf.subarray(out.pos), src);
        out.pos += produced;
        src = src.subarray(consumed);
        // Output still held by the decoder: drain it while the output buffer keeps filling up.
        while (src.length === 0 && out.pos === out.buf.length) {
          yield out.take();
          out.fresh(0);
          const [, more] = dctx.decompressStream(out.buf, EMPTY);
          out.pos += more;
        }
      }
      return;
    }
    // fzstd: finish each frame at its end, so it emits even tiny trailing frames.
    let from = 0;
    while (frameEnds.length > 0 && frameEnds[0]! <= at + bytes.length) {
      const end = frameEnds.shift()! - at;
      js!.push(bytes.subarray(from, end), true);
      from = end;
    }
    if (from < bytes.length) js!.push(bytes.subarray(from), false);
    for (const piece of pieces) {
      let p = 0;
      while (p < piece.length) {
        if (out.buf.length === out.pos) {
          if (out.pos > 0) yield out.take();
          out.fresh(0);
        }
        const n = Math.min(piece.length - p, out.buf.length - out.pos);
        out.buf.set(piece.subarray(p, p + n), out.pos);
        out.pos += n;
        p += n;
      }
    }
    pieces.length = 0;
  }

  // Bytes already buffered (when the codec was sniffed) come first.
  let held: Uint8Array | undefined = input.avail > 0 ? input.buf.subarray(input.pos) : undefined;
  input.buf = EMPTY;
  input.pos = 0;
  for (;;) {
    const chunk = held ?? (await input.pull());
    held = undefined;
    if (chunk === undefined) break;
    head ??= chunk.slice(0, 16);
    const chunkStart = scanner.offset;
    const good = scanner.scan(chunk, js ? frameEnds : undefined);
    if (good > 0) queue.push(good < chunk.length ? chunk.subarray(0, good) : chunk);
    try {
      // Decode every complete block queued so far.
      while (queue.length > 0 && queueStart < scanner.complete) {
        const first = queue[0]!;
        const n = Math.min(first.length, scanner.complete - queueStart);
        yield* feed(n === first.length ? first : first.subarray(0, n), queueStart);
        if (n === first.length) queue.shift();
        else queue[0] = first.subarray(n);
        queueStart += n;
      }
    } catch (err) {
      if (err instanceof EventLogError) throw err;
      if (scanner.frames === 0 && !isPrefixOf(head, 0, Math.min(4, head.length), ZSTD_MAGIC_BYTES)) {
        throw notCodec(ctx, 'zstd', head);
      }
      const detail = err instanceof Error ? err.message : String(err);
      throw corrupt(
        ctx,
        'zstd',
        scanner.frameStart,
        `the frame starting here does not decode (${detail}; data read up to byte ${chunkStart + good})`,
        err,
      );
    }
    if (scanner.error) {
      yield* flush(out);
      const e = scanner.error;
      if (e.offset === 0) throw notCodec(ctx, 'zstd', e.head);
      throw corrupt(ctx, 'zstd', e.offset, e.detail);
    }
  }
  yield* flush(out);
  if (!scanner.atBoundary) {
    const partial = scanner.partialMagic();
    if (
      scanner.offset < 4 &&
      partial !== undefined &&
      !isPrefixOf(partial, 0, partial.length, ZSTD_MAGIC_BYTES)
    ) {
      throw notCodec(ctx, 'zstd', partial);
    }
    warnTruncated(ctx, scanner.offset - scanner.complete);
  }
}

// ---------------------------------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------------------------------

const GZIP_WRITE = 64 * KiB;

async function* decodeGzip(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  if (!(await input.fill(2))) {
    if (input.avail === 0) return;
    if (input.buf[input.pos] !== 0x1f) throw notCodec(ctx, 'gzip', input.buf.subarray(input.pos));
    warnTruncated(ctx, input.avail);
    return;
  }
  if (input.buf[input.pos] !== 0x1f || input.buf[input.pos + 1] !== 0x8b) {
    throw notCodec(ctx, 'gzip', input.buf.subarray(input.pos));
  }
  const gz = createGunzip({ chunkSize: 64 * KiB });
  const queue: Buffer[] = [];
  let error: (Error & { code?: string }) | undefined;
  let ended = false;
  let writesPending = 0;
  let inputDone = false;
  let fed = 0;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  gz.on('data', (c: Buffer) => {
    queue.push(c);
    notify();
  });
  gz.on('error', (e: Error) => {
    error = e;
    notify();
  });
  gz.on('end', () => {
    ended = true;
    notify();
  });
  const written = (): void => {
    writesPending--;
    notify();
  };
  // The bytes fill() already buffered go first.
  let held: Uint8Array | undefined = input.buf.subarray(input.pos);
  input.buf = EMPTY;
  input.pos = 0;
  try {
    for (;;) {
      if (!inputDone && writesPending === 0 && error === undefined) {
        const chunk = held ?? (await input.pull());
        held = undefined;
        if (chunk === undefined) {
          inputDone = true;
          gz.end();
        } else {
          for (let p = 0; p < chunk.length; p += GZIP_WRITE) {
            writesPending++;
            gz.write(chunk.subarray(p, p + GZIP_WRITE), written);
          }
          fed += chunk.length;
        }
      }
      while (queue.length > 0) {
        const piece = queue.shift()!;
        if (out.pos === 0 && piece.length >= out.size) {
          yield piece;
          continue;
        }
        let p = 0;
        while (p < piece.length) {
          if (out.buf.length === out.pos) {
            if (out.pos > 0) yield out.take();
            out.fresh(0);
          }
          const n = Math.min(piece.length - p, out.buf.length - out.pos);
          out.buf.set(piece.subarray(p, p + n), out.pos);
          out.pos += n;
          p += n;
        }
      }
      if (error !== undefined) {
        yield* flush(out);
        if (error.code === 'Z_BUF_ERROR') {
          ctx.options.onWarning?.(
            `${ctx.label}: ${TRUNCATED}; the data after the last complete deflate block was not decoded`,
          );
          return;
        }
        throw corrupt(ctx, 'gzip', fed, `${error.message} (somewhere before this offset)`, error);
      }
      if (ended) break;
      if (!inputDone && writesPending === 0) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    yield* flush(out);
  } finally {
    wake = undefined;
    gz.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------
// zip
// ---------------------------------------------------------------------------------------------------

async function* readZipGenerator(path: string, signal: AbortSignal | undefined): AsyncGenerator<ZipEntry> {
  throwIfAborted(signal);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true },
      (err, z) => {
        if (err) reject(zipOpenError(err, path));
        else resolve(z);
      },
    );
  });
  let lastError: Error | undefined;
  zip.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    for (;;) {
      throwIfAborted(signal);
      if (lastError) throw zipBroken(lastError, path);
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const cleanup = (): void => {
          zip.off('entry', onEntry);
          zip.off('end', onEnd);
          zip.off('error', onError);
        };
        const onEntry = (e: yauzl.Entry): void => {
          cleanup();
          resolve(e);
        };
        const onEnd = (): void => {
          cleanup();
          resolve(undefined);
        };
        const onError = (err: Error): void => {
          cleanup();
          reject(zipBroken(err, path));
        };
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
      if (entry === undefined) break;
      if (entry.fileName.endsWith('/')) continue;
      yield {
        name: entry.fileName,
        uncompressedSize: entry.uncompressedSize,
        open: () => readZipEntry(zip, entry, path, signal),
      };
    }
  } finally {
    zip.close();
  }
}

function zipOpenError(err: Error, path: string): unknown {
  if ((err as NodeJS.ErrnoException).code) return wrapReadError(err, path);
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CODEC',
    { file: path },
    `not a readable zip archive (${err.message}). A History Server logs download is a zip; ` +
      'other files should be read with decodeFile.',
    { cause: err },
  );
}

function zipBroken(err: Error, path: string): EventLogError {
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: path },
    `damaged zip archive: ${err.message}`,
    {
      cause: err,
    },
  );
}

async function* readZipEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  path: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const label = `${path}!${entry.fileName}`;
  throwIfAborted(signal);
  if (!zip.isOpen) {
    throw new EventLogError(
      'SPARKPILOT_EVENTLOG_UNREADABLE',
      { file: label },
      'the zip archive is already closed: open() entries while the readZip iteration is running.',
    );
  }
  const stream = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, (err, s) => {
      if (err) reject(zipEntryError(err, label));
      else resolve(s);
    });
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(signal);
      yield chunk;
    }
  } catch (err) {
    if (signal?.aborted || err instanceof EventLogError) throw err;
    throw zipEntryError(err, label);
  } finally {
    stream.destroy();
  }
}

function zipEntryError(err: unknown, label: string): EventLogError {
  const message = err instanceof Error ? err.message : String(err);
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: label },
    `zip entry cannot be read: ${message}`,
    {
      cause: err,
    },
  );
}

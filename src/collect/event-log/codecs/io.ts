/**
 * Plumbing shared by the decoders: reading the input file, the pull-based {@link Input} and the chunked
 * {@link Output} buffers, the errors and warnings every decoder reports, and {@link decodeBlocks}, the
 * block loop of the block-framed codecs (lz4, snappy, lzf).
 *
 * @module
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { AbortError, EventLogError, throwIfAborted } from '../../../errors.js';
import { type CodecName, sniffCodec } from './detect.js';

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
  /**
   * Read the file with blocking reads (default false). Only for a thread that does nothing else, such as
   * the collector's worker threads: it saves a trip through libuv's thread pool per read, which on a busy
   * machine leaves the parser waiting.
   */
  blockingReads?: boolean;
}

/** 1024. */
export const KiB = 1024;
/** The size of the reads from a file, unless {@link DecodeOptions.highWaterMark} says otherwise. */
export const DEFAULT_READ_SIZE = 1024 * KiB;
/** Smallest output chunk size, whatever the `highWaterMark`. */
export const MIN_OUTPUT_CHUNK = 64 * KiB;
/** The empty buffer. */
export const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------------
// Input and output plumbing
// ---------------------------------------------------------------------------------------------------

/** The read size of {@link DecodeOptions.highWaterMark}, checked; throws a `RangeError` when invalid. */
export function chunkOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_READ_SIZE;
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`highWaterMark must be >= 1, got ${value}`);
  return Math.floor(value);
}

/**
 * A file reader's buffers: a new one per read, or, with `reuse` (the consumer is done with each chunk
 * when it asks for the next), two of its own used in turn, so that a read ahead never lands in the chunk
 * the consumer holds. Reused buffers spare the garbage collector a megabyte per read.
 */
class ReadBuffers {
  private readonly owned: Buffer[] = [];
  private turn = 0;

  constructor(
    private readonly size: number,
    private readonly reuse: boolean,
  ) {}

  next(want: number): Buffer {
    if (!this.reuse || want < this.size) return Buffer.allocUnsafe(want);
    this.turn ^= 1;
    let buf = this.owned[this.turn];
    if (buf === undefined) {
      buf = Buffer.allocUnsafe(this.size);
      this.owned[this.turn] = buf;
    }
    return buf;
  }
}

/** The size of a file's first read: all of a small file, with a byte to spare to see that it ended. */
function firstReadSize(size: number, highWaterMark: number): number {
  return Math.max(1, Math.min(highWaterMark, size + 1));
}

/**
 * The bytes of the file at `path`, in reads of at most `highWaterMark` bytes, the next read running while
 * the consumer works on a chunk. With `reuse`, a chunk is valid only until the next one is asked for.
 */
export async function* readFileChunks(
  path: string,
  highWaterMark: number,
  reuse = false,
): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  let ahead: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    const buffers = new ReadBuffers(highWaterMark, reuse);
    const read = (want: number) => {
      const buf = buffers.next(want);
      const p = file.read(buf, 0, want, null);
      p.catch(() => {}); // awaited below, unless the consumer stops first
      return p;
    };
    ahead = read(firstReadSize((await file.stat()).size, highWaterMark));
    for (;;) {
      const { bytesRead, buffer } = await ahead;
      ahead = undefined;
      if (bytesRead === 0) return;
      ahead = read(highWaterMark);
      yield bytesRead < buffer.length ? buffer.subarray(0, bytesRead) : buffer;
    }
  } finally {
    // A read still running when the consumer stops ends before the file is closed.
    await ahead?.catch(() => {});
    await file.close();
  }
}

/**
 * The bytes of the file at `path`, in reads of at most `highWaterMark` bytes, read with blocking calls
 * (see {@link DecodeOptions.blockingReads}). With `reuse`, a chunk is valid only until the next one is
 * asked for.
 */
export async function* readFileChunksBlocking(
  path: string,
  highWaterMark: number,
  reuse = false,
): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const buffers = new ReadBuffers(highWaterMark, reuse);
    // A file read to its end in one read when it is small; a growing (in-progress) file reads on to its end.
    let want = firstReadSize(fstatSync(fd).size, highWaterMark);
    for (;;) {
      const buf = buffers.next(want);
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) return;
      yield n < buf.length ? buf.subarray(0, n) : buf;
      want = highWaterMark;
    }
  } finally {
    closeSync(fd);
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

/** The {@link EventLogError} for a failure to read `file` (missing, a directory, no permission, ...). */
export function wrapReadError(err: unknown, file: string): unknown {
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
export class Input {
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

  /** Ends the source, without waiting for a read still outstanding. */
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
export class Output {
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

  /** Copies `bytes` in, yielding each chunk that fills up. */
  *append(bytes: Uint8Array): Generator<Buffer> {
    let p = 0;
    while (p < bytes.length) {
      if (this.buf.length === this.pos) {
        if (this.pos > 0) yield this.take();
        this.fresh(0);
      }
      const n = Math.min(bytes.length - p, this.buf.length - this.pos);
      this.buf.set(bytes.subarray(p, p + n), this.pos);
      this.pos += n;
      p += n;
    }
  }
}

/** What a decoder works with: its input, its output, the name of the input and the options. */
export interface Ctx {
  input: Input;
  out: Output;
  label: string;
  options: DecodeOptions;
}

/** What a truncation warning says. */
export const TRUNCATED =
  'compressed data ends in the middle of a block (the log is probably still being written or was cut off)';

/** Reports that the input ends in the middle of a block, leaving its last `bytes` undecoded. */
export function warnTruncated(ctx: Ctx, bytes: number): void {
  ctx.options.onWarning?.(`${ctx.label}: ${TRUNCATED}; the last ${bytes} bytes were not decoded`);
}

/** The first bytes of `head` in hex and as text, for error messages. */
export function describeHead(head: Uint8Array): string {
  const bytes = head.subarray(0, 16);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return bytes.length === 0 ? 'nothing' : `${hex} "${text}"${head.length > 16 ? '…' : ''}`;
}

/** How error messages name each codec's data. */
export const CODEC_WHAT: Record<CodecName, string> = {
  none: 'uncompressed',
  zstd: 'zstd',
  lz4: 'lz4-java LZ4Block',
  snappy: 'snappy-java SnappyOutputStream',
  lzf: 'ning LZF',
  gzip: 'gzip',
};

/** The data at offset 0 is not of the codec: most likely a wrong extension. */
export function notCodec(ctx: Ctx, codec: CodecName, head: Uint8Array): EventLogError {
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

/** The data of `codec` is damaged at absolute offset `offset`. */
export function corrupt(
  ctx: Ctx,
  codec: CodecName,
  offset: number,
  detail: string,
  cause?: unknown,
): EventLogError {
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: ctx.label },
    `corrupt ${CODEC_WHAT[codec]} data at byte ${offset}: ${detail}. The file is damaged (a partial or ` +
      'altered copy?); copy it again from its source.',
    cause === undefined ? undefined : { cause },
  );
}

/** At the start of the input a bad header means "wrong codec", later it means "corrupt". */
export function badHeader(
  ctx: Ctx,
  codec: CodecName,
  at: number,
  head: Uint8Array,
  detail: string,
): EventLogError {
  return at === 0 ? notCodec(ctx, codec, head) : corrupt(ctx, codec, at, detail);
}

/** Yields what `out` holds, if anything. */
export async function* flush(out: Output): AsyncGenerator<Buffer> {
  if (out.pos > 0) yield out.take();
}

/** `bytes` as a Buffer, without copying. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------------
// Block-framed streams (lz4, snappy, lzf)
// ---------------------------------------------------------------------------------------------------

/** Where one block stands after its header, as {@link BlockFormat.header} reads it. */
export interface Block {
  /** Bytes from the start of the header to the block's data. */
  header: number;
  /** Length of the block's data. */
  clen: number;
  /** Length of the data once decoded; a block of length 0 is skipped. */
  ulen: number;
  /** The data is stored, not compressed. */
  raw: boolean;
  /** The checksum the header declares, for formats that have one. */
  check: number;
}

/**
 * Decodes one compressed block `src[s, sEnd)` into `dst[d, dEnd)`. Returns the decoded length, or -1
 * when the block is malformed (never reads or writes out of bounds).
 */
export type BlockDecoder = (
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
) => number;

/**
 * A stream format made of blocks, each a header then the data (lz4-java `LZ4BlockOutputStream`,
 * snappy-java `SnappyOutputStream`, ning LZF): what {@link decodeBlocks} needs to know of it.
 */
export interface BlockFormat {
  /** The codec, for error messages. */
  readonly codec: CodecName;
  /** What error messages call a block, e.g. `the LZ4 block`. */
  readonly block: string;
  /** Bytes {@link BlockFormat.header} needs at least to read a header or tell how long it is. */
  readonly minHeader: number;
  /**
   * Reads the header at `b[p]` (`avail` bytes there, `at` its absolute offset). Returns the number of
   * bytes it needs at `b[p]` when that is more than `avail` (it is then called again once they are
   * there); else describes the block in `blk` and returns 0. Throws on an invalid header.
   */
  header(ctx: Ctx, b: Uint8Array, p: number, avail: number, at: number, blk: Block): number;
  /**
   * The input ends `rest` bytes into a header, short of the `need` bytes asked for: throws when those
   * bytes cannot start a header (not the codec, or corrupt); otherwise the input is truncated.
   */
  truncated(ctx: Ctx, b: Uint8Array, p: number, rest: number, need: number, at: number): void;
  /** Decodes a block that is not {@link Block.raw}. */
  readonly decodeBlock: BlockDecoder;
  /**
   * Checks the decoded block `dst[d, d + blk.ulen)` against its header (at absolute offset `at`), and
   * throws when they disagree.
   */
  verify?(ctx: Ctx, dst: Uint8Array, d: number, blk: Block, at: number): void;
}

/**
 * Decodes a block-framed stream: reads each header and its block, and decodes the block straight into
 * the output buffer. An input that ends in the middle of a header or a block yields what was decoded
 * and warns; one that ends between blocks is complete.
 */
export async function* decodeBlocks(ctx: Ctx, format: BlockFormat): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  const blk: Block = { header: 0, clen: 0, ulen: 0, raw: false, check: 0 };
  let need = format.minHeader;
  for (;;) {
    if (!(await input.fill(need))) {
      const rest = input.avail;
      if (rest === 0) break;
      format.truncated(ctx, input.buf, input.pos, rest, need, input.offset);
      warnTruncated(ctx, rest);
      return yield* flush(out);
    }
    const at = input.offset;
    need = format.header(ctx, input.buf, input.pos, input.avail, at, blk);
    if (need > 0) continue; // a longer header: read it again once all of it is there
    need = format.minHeader;
    const { clen, ulen } = blk;
    if (!(await input.fill(blk.header + clen))) {
      warnTruncated(ctx, input.avail);
      return yield* flush(out);
    }
    const src = input.buf;
    const s = input.pos + blk.header;
    input.pos = s + clen;
    if (ulen === 0) continue;
    if (!out.room(ulen)) {
      if (out.pos > 0) yield out.take();
      out.fresh(ulen);
    }
    const dst = out.buf;
    const d = out.pos;
    if (blk.raw) {
      dst.set(src.subarray(s, s + clen), d);
    } else if (format.decodeBlock(src, s, s + clen, dst, d, d + ulen) !== ulen) {
      throw corrupt(ctx, format.codec, at, `${format.block} does not decode to its declared length`);
    }
    format.verify?.(ctx, dst, d, blk, at);
    out.pos = d + ulen;
  }
  yield* flush(out);
}

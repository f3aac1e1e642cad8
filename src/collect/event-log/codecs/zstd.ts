/**
 * zstd: concatenated standard frames (Spark closes a frame on every flush), decoded by the native
 * `zstd-napi` binding or the pure-JS `fzstd`, behind a walker of the frame and block headers.
 *
 * @module
 */

import { createRequire } from 'node:module';
import { Decompress as FzstdDecompress } from 'fzstd';
import { EventLogError } from '../../../errors.js';
import { isPrefixOf, readU32LE } from './bytes.js';
import { ZSTD_MAGIC, ZSTD_MAGIC_BYTES } from './detect.js';
import { type Ctx, corrupt, EMPTY, flush, KiB, notCodec, warnTruncated } from './io.js';

/** The part of `zstd-napi`'s native decompression context used here. */
export interface NativeDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}
/** The part of `zstd-napi`'s native binding used here. */
export interface NativeZstd {
  DCtx: new () => NativeDCtx;
}

let nativeZstd: NativeZstd | null | undefined;
let nativeZstdError: unknown;

/** Loads `zstd-napi`'s binding once; null when the optional native module is missing or broken. */
export function loadNativeZstd(): NativeZstd | null {
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

/** Decodes concatenated zstd frames (and skippable frames). */
export async function* decodeZstd(ctx: Ctx): AsyncGenerator<Buffer> {
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
    for (const piece of pieces) yield* out.append(piece);
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

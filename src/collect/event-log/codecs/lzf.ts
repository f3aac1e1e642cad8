/**
 * lzf: ning compress-lzf `LZFOutputStream`, a sequence of chunks, each stored (`ZV\0`) or
 * LZF-compressed (`ZV\1`).
 *
 * @module
 */

import { copyLiteral, copyMatch, isPrefixOf } from './bytes.js';
import type { BlockDecoder, BlockFormat, Ctx } from './io.js';
import { badHeader, decodeBlocks, describeHead } from './io.js';

const LZF_Z = 0x5a;
const LZF_V = 0x56;
const LZF_MAGIC = Buffer.from([LZF_Z, LZF_V]);
/** Header of a stored chunk: magic(2) type(1) length(2 BE). */
const LZF_STORED_HEADER = 5;
/** Header of a compressed chunk: magic(2) type(1) compressedLength(2 BE) length(2 BE). */
const LZF_COMPRESSED_HEADER = 7;
/** Decodes LZF-compressed `src[s, sEnd)` into `dst[d, dEnd)`; -1 when malformed. */
const lzfDecodeChunk: BlockDecoder = (src, s, sEnd, dst, d, dEnd) => {
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
};

/** The chunks of ning LZF streams. */
const LZF_FORMAT: BlockFormat = {
  codec: 'lzf',
  block: 'the LZF chunk',
  minHeader: LZF_STORED_HEADER,

  header(ctx, b, p, avail, at, blk) {
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
    const clen = (b[p + 3]! << 8) | b[p + 4]!;
    if (type === 0) {
      blk.header = LZF_STORED_HEADER;
      blk.ulen = clen;
    } else {
      if (avail < LZF_COMPRESSED_HEADER) return LZF_COMPRESSED_HEADER;
      blk.header = LZF_COMPRESSED_HEADER;
      blk.ulen = (b[p + 5]! << 8) | b[p + 6]!;
    }
    blk.clen = clen;
    blk.raw = type === 0;
    return 0;
  },

  truncated(ctx, b, p, rest, _need, at) {
    if (!isPrefixOf(b, p, rest, LZF_MAGIC) || (rest > 2 && b[p + 2]! > 1)) {
      throw badHeader(ctx, 'lzf', at, b.subarray(p), 'expected an LZF chunk header');
    }
  },

  decodeBlock: lzfDecodeChunk,
};

/** Decodes ning LZF data. */
export function decodeLzf(ctx: Ctx): AsyncGenerator<Buffer> {
  return decodeBlocks(ctx, LZF_FORMAT);
}

/**
 * snappy: snappy-java `SnappyOutputStream`, a 16-byte stream header then blocks, each a 4-byte
 * big-endian length and a raw snappy block.
 *
 * @module
 */

import { copyLiteral, copyMatch, isPrefixOf, readI32BE, readU32LE, startsWith } from './bytes.js';
import { SNAPPY_MAGIC } from './detect.js';
import type { BlockDecoder, BlockFormat, Ctx } from './io.js';
import { badHeader, corrupt, decodeBlocks, KiB, notCodec } from './io.js';

const SNAPPY_HEADER = 16; // magic(8) version(4 BE) compatibleVersion(4 BE)
/** Far above snappy-java's block sizes (Spark: spark.io.compression.snappy.blockSize, 32 KiB by default). */
const SNAPPY_MAX_BLOCK = 64 * 1024 * KiB;
/** Length of a block's length prefix. */
const SNAPPY_LENGTH = 4;

/**
 * The blocks of snappy-java `SnappyOutputStream`s: a new format for each input, as it remembers whether
 * a stream header was seen.
 */
function snappyFormat(): BlockFormat {
  let sawHeader = false;
  return {
    codec: 'snappy',
    block: 'the snappy block',
    minHeader: SNAPPY_LENGTH,

    header(ctx, b, p, avail, at, blk) {
      if (b[p] === SNAPPY_MAGIC[0]) {
        // A stream header: at the start, and again wherever another stream was appended.
        if (avail < SNAPPY_HEADER) return SNAPPY_HEADER;
        if (!startsWith(b, p, SNAPPY_MAGIC)) {
          throw badHeader(ctx, 'snappy', at, b.subarray(p), 'expected a SNAPPY header');
        }
        sawHeader = true;
        blk.header = SNAPPY_HEADER;
        blk.clen = 0;
        blk.ulen = 0;
        return 0;
      }
      if (!sawHeader) throw notCodec(ctx, 'snappy', b.subarray(p));
      const clen = readI32BE(b, p);
      if (clen < 0 || clen > SNAPPY_MAX_BLOCK) {
        throw corrupt(ctx, 'snappy', at, `invalid block length ${clen}`);
      }
      // The decoded length leads the block's data: read all of it.
      if (avail < SNAPPY_LENGTH + clen) return SNAPPY_LENGTH + clen;
      let s = p + SNAPPY_LENGTH;
      const end = s + clen;
      // Raw snappy block: varint uncompressed length, then tagged elements.
      let ulen = 0;
      if (clen > 0) {
        let shift = 0;
        for (;;) {
          if (s >= end || shift > 28) throw corrupt(ctx, 'snappy', at, 'invalid block length varint');
          const c = b[s++]!;
          ulen += (c & 0x7f) * 2 ** shift;
          if (c < 0x80) break;
          shift += 7;
        }
        if (ulen > clen * 64 + 64 || ulen > SNAPPY_MAX_BLOCK) {
          throw corrupt(ctx, 'snappy', at, `implausible block size ${ulen} for ${clen} compressed bytes`);
        }
        if (ulen === 0 && s < end) {
          // Blocks of length 0 are skipped; elements cannot decode to nothing.
          throw corrupt(ctx, 'snappy', at, 'the snappy block does not decode to its declared length');
        }
      }
      blk.header = s - p;
      blk.clen = end - s;
      blk.ulen = ulen;
      return 0;
    },

    truncated(ctx, b, p, rest, need, at) {
      if (need === SNAPPY_LENGTH) {
        if (!sawHeader && !isPrefixOf(b, p, rest, SNAPPY_MAGIC)) throw notCodec(ctx, 'snappy', b.subarray(p));
      } else if (b[p] === SNAPPY_MAGIC[0] && !isPrefixOf(b, p, rest, SNAPPY_MAGIC)) {
        // A stream header cut short (a block's length never starts with this byte: blocks are far smaller).
        throw badHeader(ctx, 'snappy', at, b.subarray(p), 'expected a SNAPPY header');
      }
    },

    decodeBlock: snappyDecodeBlock,
  };
}

/** Decodes snappy-java `SnappyOutputStream` data (concatenated streams too). */
export function decodeSnappy(ctx: Ctx): AsyncGenerator<Buffer> {
  return decodeBlocks(ctx, snappyFormat());
}

/** Decodes the elements of a raw snappy block into `dst[d, dEnd)`; -1 when malformed. */
const snappyDecodeBlock: BlockDecoder = (src, s, sEnd, dst, d, dEnd) => {
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
};

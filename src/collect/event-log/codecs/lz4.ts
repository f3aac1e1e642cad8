/**
 * lz4: lz4-java `LZ4BlockOutputStream`, a sequence of blocks each with a 21-byte header (magic
 * `LZ4Block`, method and size token, compressed and decompressed lengths, xxHash32 checksum).
 *
 * @module
 */

import { copyLiteral, copyMatch, isPrefixOf, readI32LE, startsWith } from './bytes.js';
import { LZ4_MAGIC } from './detect.js';
import type { BlockDecoder, BlockFormat, Ctx } from './io.js';
import { badHeader, corrupt, decodeBlocks, describeHead } from './io.js';

const LZ4_HEADER = 21; // magic(8) token(1) compressedLen(4) decompressedLen(4) checksum(4)
const LZ4_METHOD_RAW = 0x10;
const LZ4_METHOD_LZ4 = 0x20;
const LZ4_CHECKSUM_SEED = 0x9747b28c;

/**
 * A literal or match length whose 4-bit field is 15 (`len`), plus the bytes at `src[s]` that extend it:
 * they add up until one is below 255. Returns -1 when `src` ends at `sEnd` first.
 */
function lz4Length(src: Uint8Array, s: number, sEnd: number, len: number): number {
  let b: number;
  do {
    if (s >= sEnd) return -1;
    b = src[s++]!;
    len += b;
  } while (b === 255);
  return len;
}

/** How many bytes extend a length field of 15 to `len` (see {@link lz4Length}): one per 255, then one. */
function lz4LengthBytes(len: number): number {
  return Math.floor((len - 15) / 255) + 1;
}

/**
 * Decodes one raw LZ4 block `src[s, sEnd)` into `dst[d, dEnd)`. Returns the decoded length, or -1 when
 * the block is malformed (never reads or writes out of bounds).
 */
const lz4DecodeBlock: BlockDecoder = (src, s, sEnd, dst, d, dEnd) => {
  const dStart = d;
  while (s < sEnd) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      lit = lz4Length(src, s, sEnd, lit);
      if (lit < 0) return -1;
      s += lz4LengthBytes(lit);
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
      len = lz4Length(src, s, sEnd, len);
      if (len < 0) return -1;
      s += lz4LengthBytes(len);
    }
    len += 4;
    if (off === 0 || off > d - dStart || d + len > dEnd) return -1;
    copyMatch(dst, d, off, len);
    d += len;
  }
  return d - dStart;
};

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

/** The blocks of lz4-java `LZ4BlockOutputStream`s. */
const LZ4_FORMAT: BlockFormat = {
  codec: 'lz4',
  block: 'the LZ4 block',
  minHeader: LZ4_HEADER,

  header(ctx, b, p, _avail, at, blk) {
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
    // ulen 0 ends one LZ4BlockOutputStream; another may follow (Spark reads concatenated streams).
    blk.header = LZ4_HEADER;
    blk.clen = clen;
    blk.ulen = ulen;
    blk.raw = method === LZ4_METHOD_RAW;
    blk.check = readI32LE(b, p + 17);
    return 0;
  },

  truncated(ctx, b, p, rest, _need, at) {
    if (!isPrefixOf(b, p, rest, LZ4_MAGIC)) {
      throw badHeader(ctx, 'lz4', at, b.subarray(p), 'expected an LZ4Block header');
    }
  },

  decodeBlock: lz4DecodeBlock,

  verify(ctx, dst, d, blk, at) {
    if ((xxh32(dst, d, blk.ulen, LZ4_CHECKSUM_SEED) & 0x0fffffff) !== (blk.check & 0x0fffffff)) {
      throw corrupt(ctx, 'lz4', at, 'block checksum mismatch');
    }
  },
};

/** Decodes lz4-java `LZ4BlockOutputStream` data (concatenated streams too). */
export function decodeLz4(ctx: Ctx): AsyncGenerator<Buffer> {
  return decodeBlocks(ctx, LZ4_FORMAT);
}

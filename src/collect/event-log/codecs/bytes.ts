/**
 * Byte-level helpers shared by the codec detection and the block decoders: magic-number comparisons,
 * little/big-endian integer reads, and the literal and LZ77 match copies of the LZ-family decoders.
 *
 * @module
 */

/** True when `magic` stands at `b[p]`. */
export function startsWith(b: Uint8Array, p: number, magic: Uint8Array): boolean {
  if (b.length - p < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[p + i] !== magic[i]) return false;
  return true;
}

/** True when the `n` bytes at `b[p]` are a prefix of `magic`. */
export function isPrefixOf(b: Uint8Array, p: number, n: number, magic: Uint8Array): boolean {
  for (let i = 0; i < n && i < magic.length; i++) if (b[p + i] !== magic[i]) return false;
  return true;
}

/** The unsigned 32-bit little-endian integer at `b[p]`. */
export function readU32LE(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** The signed 32-bit little-endian integer at `b[p]`. */
export function readI32LE(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** The signed 32-bit big-endian integer at `b[p]`. */
export function readI32BE(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** Copies an LZ77 match of `len` bytes from `off` bytes back (overlap repeats the pattern). */
export function copyMatch(dst: Uint8Array, d: number, off: number, len: number): void {
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

/** Copies `len` literal bytes from `src[s]` to `dst[d]` (a loop for short runs, `set` for long ones). */
export function copyLiteral(src: Uint8Array, s: number, dst: Uint8Array, d: number, len: number): void {
  if (len < 32) {
    for (let i = 0; i < len; i++) dst[d + i] = src[s + i]!;
  } else {
    dst.set(src.subarray(s, s + len), d);
  }
}

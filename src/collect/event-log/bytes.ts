/**
 * Byte-level helpers of the line scanners: comparisons and searches over a line's bytes without making
 * strings.
 * @module
 * @internal
 */

/** Whether `buf[at, end)` starts with the bytes of `want`. */
export function bytesAt(buf: Uint8Array, at: number, end: number, want: Uint8Array): boolean {
  if (at + want.length > end) return false;
  for (let k = 0; k < want.length; k++) if (buf[at + k] !== want[k]) return false;
  return true;
}

/**
 * Index of the first `"` in `buf[from, end)`, or `end`. A loop over the bytes, not `Buffer#indexOf`: the
 * strings of a task line are a few to a few dozen bytes apart, and for those the call into Node's
 * `indexOf` (argument checks, a generic property load, then `memchr`) costs more than the bytes themselves.
 */
export function quoteAt(buf: Uint8Array, from: number, end: number): number {
  let k = from;
  while (k < end && buf[k] !== 34) k++;
  return k;
}

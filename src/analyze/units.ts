/**
 * Sizes and durations as Spark writes them in properties (`4g`, `512m`, `1024`), and as people read them in
 * findings (`3.9 GiB`, `2.5 min`, `42%`).
 * @module
 */

/** A size unit Spark accepts as a suffix (binary: `k` is 1024 bytes). */
export type SparkByteUnit = 'b' | 'k' | 'm' | 'g' | 't' | 'p';

const POWERS: Readonly<Record<SparkByteUnit, number>> = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/** Bytes in a mebibyte. */
export const MIB = 1024 * 1024;

/** Bytes in a gibibyte. */
export const GIB = 1024 * MIB;

/**
 * The bytes of a Spark size property, or `undefined` when absent or not a size. Spark's suffixes are
 * binary and case-insensitive (`k`/`kb`, `m`/`mb`, `g`/`gb`, `t`/`tb`, `p`/`pb`; `b` for bytes); a bare
 * number is in `defaultUnit`, which is `m` for the memory properties (`spark.executor.memory`,
 * `spark.executor.memoryOverhead`, `spark.driver.memory`) and `b` for the byte ones
 * (`spark.sql.files.maxPartitionBytes`). Fractions (`1.5g`) and `GiB`-style suffixes are accepted too, though
 * Spark itself rejects them.
 *
 * @example
 * ```ts
 * parseSparkBytes('4g', 'm'); // 4294967296
 * parseSparkBytes('1024', 'm'); // 1073741824
 * parseSparkBytes('128MB', 'b'); // 134217728
 * parseSparkBytes('lots', 'm'); // undefined
 * ```
 */
export function parseSparkBytes(
  value: string | undefined,
  defaultUnit: SparkByteUnit = 'b',
): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([bkmgtp]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] || defaultUnit).toLowerCase() as SparkByteUnit;
  return Math.round(Number(m[1]) * 1024 ** POWERS[unit]);
}

/**
 * A byte count as a Spark memory property value: whole gibibytes as `6g`, else whole mebibytes rounded up
 * (`1536m`); below a mebibyte, `k` or bytes.
 *
 * @example
 * ```ts
 * formatSparkBytes(6 * 1024 ** 3); // '6g'
 * formatSparkBytes(1.5 * 1024 ** 3); // '1536m'
 * formatSparkBytes(1000); // '1000b'
 * ```
 */
export function formatSparkBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0b';
  if (bytes < MIB) return bytes % 1024 === 0 ? `${bytes / 1024}k` : `${Math.ceil(bytes)}b`;
  const mib = Math.ceil(bytes / MIB);
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}

/** `bytes` rounded up to a multiple of `step` bytes (at least one step). */
export function roundUpBytes(bytes: number, step: number): number {
  return Math.max(step, Math.ceil(bytes / step) * step);
}

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `3.9 GiB`.
 *
 * @example
 * ```ts
 * formatBytes(4208296816); // '3.9 GiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const sign = bytes < 0 ? '-' : '';
  return i === 0
    ? `${sign}${Math.round(v)} B`
    : `${sign}${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * A duration for people: `850 ms`, `12.3 s`, `4.5 min`, `2.1 h`.
 *
 * @example
 * ```ts
 * formatMs(137_000); // '2.3 min'
 * ```
 */
export function formatMs(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A ratio as a percentage for people: `0.4213` → `42%`, `0.0042` → `0.4%`. */
export function formatRatio(ratio: number): string {
  const p = ratio * 100;
  return `${p !== 0 && Math.abs(p) < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

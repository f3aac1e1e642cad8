/**
 * Which codec an event-log file is written with: from its file name as Spark writes it, or by sniffing
 * its first bytes; and the magic numbers of the codecs' streams.
 *
 * @module
 */

import { readU32LE, startsWith } from './bytes.js';

/** A compression codec Spark can write an event log with (plus `gzip`, seen in repackaged logs). */
export type CodecName = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf' | 'gzip';

/** All codec names, in a stable order. */
export const CODEC_NAMES: readonly CodecName[] = ['none', 'zstd', 'lz4', 'snappy', 'lzf', 'gzip'];

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

/** Start of every lz4-java `LZ4BlockOutputStream` block header. */
export const LZ4_MAGIC = Buffer.from('LZ4Block', 'latin1');
/** Start of a snappy-java `SnappyOutputStream` stream header. */
export const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
/** Magic number of a zstd frame, read as a little-endian u32. */
export const ZSTD_MAGIC = 0xfd2fb528;
/** {@link ZSTD_MAGIC} as it stands in the file. */
export const ZSTD_MAGIC_BYTES = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

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

/**
 * The codec of data that a file name calls uncompressed but whose first bytes (8 are enough) are compressed
 * data after all, as in a renamed or downloaded copy; undefined when they are not.
 */
export function compressedCodecOf(head: Uint8Array): Exclude<CodecName, 'none'> | undefined {
  const guess = sniffCodec(head.subarray(0, 8));
  return guess === undefined || guess === 'none' || guess === 'zip' ? undefined : guess;
}

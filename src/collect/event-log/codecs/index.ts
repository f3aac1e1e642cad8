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

import { decodeGenerator } from './decode.js';
import type { CodecName } from './detect.js';
import { chunkOption, type DecodeOptions, readFileChunks, readFileChunksBlocking } from './io.js';
import { readZipGenerator, type ZipEntry } from './zip.js';
import { loadNativeZstd } from './zstd.js';

export { CODEC_NAMES, type CodecName, codecFromFileName, sniffCodec } from './detect.js';
export type { DecodeOptions, ZstdBackend } from './io.js';
export type { ZipEntry } from './zip.js';

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
  const chunks = options.blockingReads
    ? readFileChunksBlocking(path, readSize)
    : readFileChunks(path, readSize);
  return decodeStream(chunks, codec, path, options);
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

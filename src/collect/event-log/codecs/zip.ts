/**
 * zip archives, e.g. a History Server `/api/v1/applications/{id}/logs` download, read with yauzl.
 *
 * @module
 */

import type { Readable } from 'node:stream';
import type yauzl from 'yauzl';
import { EventLogError, throwIfAborted } from '../../../errors.js';
import { wrapReadError } from './io.js';

/** One file inside a zip archive, see {@link readZip}. */
export interface ZipEntry {
  /** Path of the entry inside the archive, e.g. `eventlog_v2_local-1/events_1_local-1.zstd`. */
  name: string;
  /** Size of the entry once unzipped (still compressed by Spark's codec, if any). */
  uncompressedSize: number;
  /**
   * Streams the unzipped bytes of the entry. Call it while the {@link readZip} iteration is still
   * running: the archive is closed when the iteration ends.
   */
  open(): AsyncIterable<Buffer>;
}

/** The entries of the zip archive at `path`, see `readZip`. */
export async function* readZipGenerator(
  path: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<ZipEntry> {
  throwIfAborted(signal);
  // Loaded on the first zip: most logs are not zips, and every collector worker thread imports this file.
  const { default: zipReader } = await import('yauzl');
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    zipReader.open(
      path,
      { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true },
      (err, z) => {
        if (err) reject(zipOpenError(err, path));
        else resolve(z);
      },
    );
  });
  let lastError: Error | undefined;
  zip.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    for (;;) {
      throwIfAborted(signal);
      if (lastError) throw zipBroken(lastError, path);
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const cleanup = (): void => {
          zip.off('entry', onEntry);
          zip.off('end', onEnd);
          zip.off('error', onError);
        };
        const onEntry = (e: yauzl.Entry): void => {
          cleanup();
          resolve(e);
        };
        const onEnd = (): void => {
          cleanup();
          resolve(undefined);
        };
        const onError = (err: Error): void => {
          cleanup();
          reject(zipBroken(err, path));
        };
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
      if (entry === undefined) break;
      if (entry.fileName.endsWith('/')) continue;
      yield {
        name: entry.fileName,
        uncompressedSize: entry.uncompressedSize,
        open: () => readZipEntry(zip, entry, path, signal),
      };
    }
  } finally {
    zip.close();
  }
}

function zipOpenError(err: Error, path: string): unknown {
  if ((err as NodeJS.ErrnoException).code) return wrapReadError(err, path);
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CODEC',
    { file: path },
    `not a readable zip archive (${err.message}). A History Server logs download is a zip; ` +
      'other files should be read with decodeFile.',
    { cause: err },
  );
}

function zipBroken(err: Error, path: string): EventLogError {
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: path },
    `damaged zip archive: ${err.message}`,
    {
      cause: err,
    },
  );
}

async function* readZipEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  path: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const label = `${path}!${entry.fileName}`;
  throwIfAborted(signal);
  if (!zip.isOpen) {
    throw new EventLogError(
      'SPARKPILOT_EVENTLOG_UNREADABLE',
      { file: label },
      'the zip archive is already closed: open() entries while the readZip iteration is running.',
    );
  }
  const stream = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, (err, s) => {
      if (err) reject(zipEntryError(err, label));
      else resolve(s);
    });
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(signal);
      yield chunk;
    }
  } catch (err) {
    if (signal?.aborted || err instanceof EventLogError) throw err;
    throw zipEntryError(err, label);
  } finally {
    stream.destroy();
  }
}

function zipEntryError(err: unknown, label: string): EventLogError {
  const message = err instanceof Error ? err.message : String(err);
  return new EventLogError(
    'SPARKPILOT_EVENTLOG_CORRUPT',
    { file: label },
    `zip entry cannot be read: ${message}`,
    {
      cause: err,
    },
  );
}

/**
 * Finds the application attempts in the paths a user names: single files, directories of many
 * applications (recursive), rolling logs (`eventlog_v2_*`), the Spark 1.2 legacy folder layout,
 * Databricks-style rolled folders (`eventlog`, `eventlog-<date>.gz`), and zips from the History Server's
 * `/logs` endpoint.
 * @module
 */
import { type Dirent, promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { EventLogError, throwIfAborted } from '../../errors.js';
import {
  type CodecName,
  codecFromFileName,
  type DecodeOptions,
  decodeFile,
  decodeStream,
  readZip,
} from './codecs/index.js';

/** Where a part's bytes live: a file, or an entry of a zip file. */
export interface PartLocation {
  file: string;
  /** The entry name inside the zip `file`. */
  entry?: string;
}

/** One file (or zip entry) of a log. */
export interface LogPart {
  /** Path (or `zip-path!entry`) shown in messages. */
  name: string;
  /** Compressed size in bytes, when known. */
  size: number;
  codec: CodecName;
  location: PartLocation;
  /** Streams the decompressed bytes. */
  open(options?: DecodeOptions): AsyncIterable<Buffer>;
}

/** Builds a part (with its `open`) from its serializable description, e.g. in a worker thread. */
export function makePart(name: string, size: number, codec: CodecName, location: PartLocation): LogPart {
  const { file, entry } = location;
  const open =
    entry === undefined
      ? (o?: DecodeOptions) => decodeFile(file, codec, o)
      : async function* (o?: DecodeOptions): AsyncIterable<Buffer> {
          for await (const e of readZip(file, o?.signal ? { signal: o.signal } : {})) {
            if (e.name === entry) {
              yield* decodeStream(e.open(), codec, name, o);
              return;
            }
          }
          throw new EventLogError(
            'SPARKPILOT_EVENTLOG_NOT_FOUND',
            { file: name },
            'the zip entry is gone. Was the zip replaced while it was read?',
          );
        };
  return { name, size, codec, location, open };
}

/** The layouts Spark (and vendors) write. */
export type LogLayout = 'single' | 'rolling' | 'legacy' | 'databricks' | 'zip';

/** The parts of one application attempt's log, in read order. */
export interface LogUnit {
  /** The file or folder that holds the log. */
  name: string;
  layout: LogLayout;
  parts: LogPart[];
  /** The writer still has the log open (`.inprogress`, `appstatus_*.inprogress`, no `APPLICATION_COMPLETE`). */
  inProgress: boolean;
  /** An application id derived from the file name, used only when the log never says its own. */
  fallbackAppId: string;
  /** Whether the user named this exact path (errors for it fail the command). */
  explicit: boolean;
}

/** A path that could not be read at all. */
export interface DiscoveryProblem {
  path: string;
  error: EventLogError;
}

/** Files that are never event logs: markers, checksums, docs. */
const IGNORED =
  /^(\.|_)|\.(crc|md|txt|sha256|sum|sums)$|^SHA256SUMS$|^appstatus_|^APPLICATION_COMPLETE$|^SPARK_VERSION_|^COMPRESSION_CODEC_/;
const ROLLING_DIR = /^eventlog_v2_/;
const ROLLING_PART = /^events_(\d+)_(.+?)(\.compact)?$/;

function stripSuffixes(name: string): string {
  let n = name;
  if (n.endsWith('.inprogress')) n = n.slice(0, -'.inprogress'.length);
  if (n.endsWith('.compact')) n = n.slice(0, -'.compact'.length);
  const codec = codecFromFileName(name);
  if (codec !== 'none' && codec !== 'zip') {
    const dot = n.lastIndexOf('.');
    if (dot > 0) n = n.slice(0, dot);
  }
  return n;
}

function filePart(path: string, size: number): LogPart {
  const codec = codecFromFileName(basename(path));
  const c: CodecName = codec === 'zip' ? 'none' : codec;
  return makePart(path, size, c, { file: path });
}

/** Orders the parts of a rolling log: from the last compacted part on, by numeric index. */
export function orderRollingParts(names: string[]): string[] {
  const parts = names
    .map((n) => ({ n, m: ROLLING_PART.exec(n) }))
    .filter((p) => p.m !== null)
    .map((p) => ({ n: p.n, index: Number(p.m![1]), compact: p.n.includes('.compact') }))
    .sort((a, b) => a.index - b.index || Number(b.compact) - Number(a.compact));
  let from = 0;
  parts.forEach((p, i) => {
    if (p.compact) from = i;
  });
  const seen = new Set<number>();
  return parts
    .slice(from)
    .filter((p) => {
      if (seen.has(p.index)) return false;
      seen.add(p.index);
      return true;
    })
    .map((p) => p.n);
}

async function statSafe(path: string) {
  try {
    return await fs.stat(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new EventLogError(
      code === 'ENOENT' ? 'SPARKPILOT_EVENTLOG_NOT_FOUND' : 'SPARKPILOT_EVENTLOG_UNREADABLE',
      { file: path },
      code === 'ENOENT'
        ? 'no such file or directory. Check the path.'
        : `cannot be read (${code ?? (cause as Error).message}). Check its permissions.`,
      { cause },
    );
  }
}

async function unitForDirectory(dir: string, entries: Dirent[], explicit: boolean): Promise<LogUnit | null> {
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  const dirName = basename(dir);
  const sizeOf = async (n: string) => (await fs.stat(join(dir, n))).size;
  if (ROLLING_DIR.test(dirName) || files.some((f) => ROLLING_PART.test(f))) {
    const ordered = orderRollingParts(files);
    if (ordered.length === 0) return null;
    const status = files.find((f) => f.startsWith('appstatus_'));
    const parts = await Promise.all(ordered.map(async (n) => filePart(join(dir, n), await sizeOf(n))));
    return {
      name: dir,
      layout: 'rolling',
      parts,
      inProgress: status === undefined || status.endsWith('.inprogress'),
      fallbackAppId: dirName.replace(ROLLING_DIR, ''),
      explicit,
    };
  }
  const legacy = files.filter((f) => /^EVENT_LOG_\d+$/.test(f));
  if (
    legacy.length > 0 &&
    files.some((f) => f === 'APPLICATION_COMPLETE' || f.startsWith('SPARK_VERSION_'))
  ) {
    const codecMarker = files.find((f) => f.startsWith('COMPRESSION_CODEC_'));
    const codec = codecMarker
      ? codecFromFileName(`x.${codecMarker.slice('COMPRESSION_CODEC_'.length).split('.').pop()}`)
      : 'none';
    const c: CodecName = codec === 'zip' ? 'none' : codec;
    legacy.sort((a, b) => Number(a.slice(10)) - Number(b.slice(10)));
    const parts = await Promise.all(
      legacy.map(async (n) => {
        const p = join(dir, n);
        return makePart(p, await sizeOf(n), c, { file: p });
      }),
    );
    return {
      name: dir,
      layout: 'legacy',
      parts,
      inProgress: !files.includes('APPLICATION_COMPLETE'),
      fallbackAppId: dirName,
      explicit,
    };
  }
  if (files.includes('eventlog')) {
    const rolled = files.filter((f) => /^eventlog-\d{4}-\d{2}-\d{2}--\d{2}-\d{2}/.test(f)).sort();
    const parts = await Promise.all(
      [...rolled, 'eventlog'].map(async (n) => filePart(join(dir, n), await sizeOf(n))),
    );
    return { name: dir, layout: 'databricks', parts, inProgress: false, fallbackAppId: dirName, explicit };
  }
  return null;
}

function singleUnit(path: string, size: number, explicit: boolean): LogUnit {
  const name = basename(path);
  return {
    name: path,
    layout: 'single',
    parts: [filePart(path, size)],
    inProgress: name.endsWith('.inprogress'),
    fallbackAppId: stripSuffixes(name),
    explicit,
  };
}

async function zipUnits(path: string, signal?: AbortSignal): Promise<LogUnit[]> {
  const names: { name: string; size: number }[] = [];
  for await (const entry of readZip(path, signal ? { signal } : {})) {
    if (!entry.name.endsWith('/')) names.push({ name: entry.name, size: entry.uncompressedSize });
  }
  const part = (n: { name: string; size: number }): LogPart => {
    const codec = codecFromFileName(basename(n.name));
    const c: CodecName = codec === 'zip' ? 'none' : codec;
    return makePart(`${path}!${n.name}`, n.size, c, { file: path, entry: n.name });
  };
  const byDir = new Map<string, { name: string; size: number }[]>();
  for (const n of names) {
    const slash = n.name.lastIndexOf('/');
    const dir = slash < 0 ? '' : n.name.slice(0, slash);
    byDir.set(dir, [...(byDir.get(dir) ?? []), n]);
  }
  const units: LogUnit[] = [];
  for (const [dir, entries] of byDir) {
    const base = (n: { name: string }) => n.name.slice(n.name.lastIndexOf('/') + 1);
    if (dir && ROLLING_DIR.test(basename(dir))) {
      const ordered = orderRollingParts(entries.map(base));
      const status = entries.map(base).find((f) => f.startsWith('appstatus_'));
      units.push({
        name: `${path}!${dir}`,
        layout: 'zip',
        parts: ordered.map((b) => part(entries.find((e) => base(e) === b)!)),
        inProgress: status === undefined || status.endsWith('.inprogress'),
        fallbackAppId: basename(dir).replace(ROLLING_DIR, ''),
        explicit: true,
      });
      continue;
    }
    for (const e of entries) {
      if (IGNORED.test(base(e))) continue;
      units.push({
        name: `${path}!${e.name}`,
        layout: 'zip',
        parts: [part(e)],
        inProgress: e.name.endsWith('.inprogress'),
        fallbackAppId: stripSuffixes(base(e)),
        explicit: true,
      });
    }
  }
  return units;
}

/**
 * Lists the application-attempt logs under the given paths. A path that cannot be read is reported as a
 * problem and the others are still listed.
 */
export async function discoverLogs(
  paths: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<{ units: LogUnit[]; problems: DiscoveryProblem[] }> {
  const units: LogUnit[] = [];
  const problems: DiscoveryProblem[] = [];
  const walk = async (path: string, explicit: boolean): Promise<void> => {
    throwIfAborted(options.signal);
    const st = await statSafe(path);
    if (st.isDirectory()) {
      let entries: Dirent[];
      try {
        entries = await fs.readdir(path, { withFileTypes: true });
      } catch (cause) {
        throw new EventLogError(
          'SPARKPILOT_EVENTLOG_UNREADABLE',
          { file: path },
          `the directory cannot be listed (${(cause as NodeJS.ErrnoException).code}). Check its permissions.`,
          { cause },
        );
      }
      const unit = await unitForDirectory(path, entries, explicit);
      if (unit) {
        units.push(unit);
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const child = join(path, e.name);
        try {
          if (e.isDirectory()) await walk(child, false);
          else if (e.isFile() && !IGNORED.test(e.name)) await walk(child, false);
        } catch (err) {
          if (err instanceof EventLogError) problems.push({ path: child, error: err });
          else throw err;
        }
      }
      return;
    }
    if (codecFromFileName(basename(path)) === 'zip') {
      units.push(...(await zipUnits(path, options.signal)));
      return;
    }
    units.push(singleUnit(path, st.size, explicit));
  };
  for (const p of paths) {
    try {
      await walk(p, true);
    } catch (err) {
      if (err instanceof EventLogError) problems.push({ path: p, error: err });
      else throw err;
    }
  }
  return { units, problems };
}

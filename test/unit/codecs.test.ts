import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CodecName,
  codecFromFileName,
  type DecodeOptions,
  decodeFile,
  decodeStream,
  readZip,
  sniffCodec,
  zstdNativeAvailable,
} from '../../src/collect/event-log/codecs/index.js';
import { EventLogError } from '../../src/errors.js';
import { fixture, sharedData } from '../helpers/data.js';

// ------------------------------------------------------------------------------------------------
// Fixtures: real Spark 4 logs from scripts/fixtures/generate.sh, described by fixtures.json, whose
// decodedBytes / decodedSha256 / lines were computed by Spark's own CompressionCodec.
// ------------------------------------------------------------------------------------------------

interface DecodedFacts {
  codec: CodecName;
  decodedBytes: number;
  decodedSha256: string;
  lines: number;
  partialLastLineBytes: number;
  firstEvent: string | null;
  lastEvent: string | null;
  taskEnds: number;
  sparkDecodeError: string | null;
}
interface FixtureFile extends Partial<DecodedFacts> {
  path: string;
  bytes: number;
  role: 'events' | 'appstatus' | 'zip';
  entries?: (Partial<DecodedFacts> & { name: string; uncompressedSize: number; role: string })[];
}
interface Scenario {
  scenario: string;
  appId: string;
  sparkVersion: string;
  codec: string;
  complete: boolean;
  files: FixtureFile[];
}

const EVENTS_DIR = fixture('spark-events/');
const manifest = JSON.parse(readFileSync(join(EVENTS_DIR, 'fixtures.json'), 'utf8')) as {
  scenarios: Scenario[];
};
const scenarios = manifest.scenarios;
const scenario = (name: string): Scenario => {
  const s = scenarios.find((x) => x.scenario === name);
  if (!s) throw new Error(`fixture scenario ${name} missing: run scripts/fixtures/generate.sh`);
  return s;
};
const eventFiles = scenarios.flatMap((s) =>
  s.files
    .filter((f) => f.role === 'events')
    .map((f) => ({ scenario: s, file: f, path: join(EVENTS_DIR, f.path) })),
);
const singleFile = (name: string): string => join(EVENTS_DIR, scenario(name).files[0]!.path);

const tmp = mkdtempSync(join(tmpdir(), 'sparkpilot-codecs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tmpFile = (name: string, data: Uint8Array | string): string => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};

interface Decoded {
  data: Buffer;
  chunks: number[];
  warnings: string[];
}

async function collect(iter: AsyncIterable<Buffer>, warnings: string[]): Promise<Decoded> {
  const parts: Buffer[] = [];
  for await (const c of iter) parts.push(c);
  return { data: Buffer.concat(parts), chunks: parts.map((p) => p.length), warnings };
}

function decode(path: string, codec: CodecName, options: DecodeOptions = {}): Promise<Decoded> {
  const warnings: string[] = [];
  return collect(decodeFile(path, codec, { ...options, onWarning: (m) => warnings.push(m) }), warnings);
}

function decodeChunked(
  bytes: Buffer,
  codec: CodecName,
  label: string,
  options: DecodeOptions = {},
): Promise<Decoded> {
  const warnings: string[] = [];
  return collect(
    decodeStream(randomChunks(bytes), codec, label, { ...options, onWarning: (m) => warnings.push(m) }),
    warnings,
  );
}

/** Splits `bytes` into deterministic pseudo-random pieces of 0 to 300 bytes. */
async function* randomChunks(bytes: Buffer): AsyncGenerator<Uint8Array> {
  let seed = 12345;
  let p = 0;
  while (p < bytes.length) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const n = (seed >>> 16) % 301;
    yield new Uint8Array(bytes.buffer, bytes.byteOffset + p, Math.min(n, bytes.length - p));
    p += n;
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Complete (newline-terminated) lines, and what follows the last newline. */
function splitLines(data: Buffer): { lines: string[]; rest: string } {
  const text = data.toString('utf8');
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  return { lines, rest };
}

function parseEvents(data: Buffer): Record<string, unknown>[] {
  return splitLines(data).lines.map((line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    expect(typeof event.Event).toBe('string');
    return event;
  });
}

const byName = (events: Record<string, unknown>[], name: string) => events.filter((e) => e.Event === name);

// ------------------------------------------------------------------------------------------------

describe('codecFromFileName', () => {
  it.each([
    ['local-1795264818663.lz4', 'lz4'],
    ['/logs/app-20240101-0001.snappy', 'snappy'],
    ['application_1_0001_1.lzf', 'lzf'],
    ['events_2_local-1623876083964.zstd', 'zstd'],
    ['local-1.zstd.inprogress', 'zstd'],
    ['events_1_local-1.lz4.compact', 'lz4'],
    ['x.ZSTD', 'zstd'],
    ['x.zst', 'zstd'],
    ['eventlog-2021-06-15--15-00.gz', 'gzip'],
    ['eventLogs-application_1489705648216_1600.zip', 'zip'],
    ['local-1430917381535_1', 'none'],
    ['local-1430917381535_1.inprogress', 'none'],
    ['appstatus_local-1', 'none'],
    ['EVENT_LOG_1', 'none'],
    ['log.json', 'none'],
    ['C:\\logs\\app-1.lz4', 'lz4'],
    ['COMPRESSION_CODEC_org.apache.spark.io.LZFCompressionCodec', 'lzf'],
  ])('%s -> %s', (name, codec) => {
    expect(codecFromFileName(name)).toBe(codec);
  });
});

describe('sniffCodec', () => {
  it('recognizes each fixture codec from its first bytes', () => {
    for (const c of ['lz4', 'snappy', 'lzf', 'zstd'] as const) {
      expect(sniffCodec(readFileSync(singleFile(`codec-${c}`)).subarray(0, 8))).toBe(c);
    }
    expect(sniffCodec(readFileSync(singleFile('uncompressed')).subarray(0, 8))).toBe('none');
    expect(sniffCodec(Buffer.from('hello'))).toBeUndefined();
  });
});

describe('fixtures (real Spark 4 logs)', () => {
  it('include every scenario and stay small', () => {
    const names = scenarios.map((s) => s.scenario).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'codec-lz4',
        'codec-lzf',
        'codec-snappy',
        'codec-zstd',
        'uncompressed',
        'rolling',
        'inprogress',
        'inprogress-rolling',
        'failures',
        'history-server-zip',
      ]),
    );
    const total = scenarios
      .flatMap((s) => s.files)
      .reduce((n, f) => n + statSync(join(EVENTS_DIR, f.path)).size, 0);
    expect(total).toBeLessThan(5 * 1024 * 1024);
  });

  it.each(eventFiles.map((f) => [f.file.path, f] as const))(
    '%s decodes exactly as Spark decodes it',
    async (_, f) => {
      const codec = codecFromFileName(f.path);
      expect(codec).not.toBe('zip');
      expect(codec).toBe(f.file.codec);
      const { data, warnings, chunks } = await decode(f.path, codec as CodecName);
      // Ground truth from Spark's own CompressionCodec.
      expect(data.length).toBe(f.file.decodedBytes);
      expect(sha256(data)).toBe(f.file.decodedSha256);
      expect(warnings).toEqual([]);
      // All chunks but the last are at least 64 KiB.
      for (const n of chunks.slice(0, -1)) expect(n).toBeGreaterThanOrEqual(64 * 1024);

      const { lines, rest } = splitLines(data);
      expect(lines.length).toBe(f.file.lines);
      expect(lines.length).toBeGreaterThan(0);
      const events = parseEvents(data);
      expect(rest.length).toBe(f.file.partialLastLineBytes);
      expect(byName(events, 'SparkListenerTaskEnd').length).toBe(f.file.taskEnds);

      const name = basename(f.path);
      const firstPart = !name.startsWith('events_') || name.startsWith('events_1_');
      if (firstPart) {
        expect(events[0]!.Event).toBe('SparkListenerLogStart');
        expect(events[0]!['Spark Version']).toMatch(/^4\.\d+\.\d+/);
        const start = byName(events, 'SparkListenerApplicationStart')[0];
        expect(start?.['App ID']).toBe(f.scenario.appId);
      }
      const isLastPart = f.scenario.files.filter((x) => x.role === 'events').at(-1) === f.file;
      if (f.scenario.complete && isLastPart) {
        expect(events.at(-1)!.Event).toBe('SparkListenerApplicationEnd');
      } else {
        expect(byName(events, 'SparkListenerApplicationEnd')).toEqual([]);
      }
    },
  );

  it('single-file codec fixtures all hold the same kind of application', async () => {
    for (const c of ['lz4', 'snappy', 'lzf', 'zstd'] as const) {
      const s = scenario(`codec-${c}`);
      expect(s.complete).toBe(true);
      expect(s.sparkVersion).toMatch(/^4\./);
      expect(s.files[0]!.path).toMatch(new RegExp(`^codec-${c}/local-\\d+\\.${c}$`));
    }
    expect(scenario('uncompressed').files[0]!.path).toMatch(/^uncompressed\/local-\d+$/);
  });

  it('the rolling log has several parts that concatenate into one event stream', async () => {
    const s = scenario('rolling');
    const parts = s.files.filter((f) => f.role === 'events');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.map((p) => basename(p.path))).toEqual(
      parts.map((_, i) => `events_${i + 1}_${s.appId}.zstd`),
    );
    expect(s.files.some((f) => basename(f.path) === `appstatus_${s.appId}`)).toBe(true);
    let lines = 0;
    let taskEnds = 0;
    let first: unknown;
    let last: unknown;
    for (const [i, part] of parts.entries()) {
      const { data } = await decode(join(EVENTS_DIR, part.path), 'zstd');
      // Spark rolls a part when it reaches about maxFileSize (10 MiB) of uncompressed events.
      if (i < parts.length - 1) expect(Math.abs(data.length - 10 * 1024 * 1024)).toBeLessThan(512 * 1024);
      const events = parseEvents(data);
      lines += events.length;
      taskEnds += byName(events, 'SparkListenerTaskEnd').length;
      first ??= events[0]!.Event;
      last = events.at(-1)!.Event;
    }
    expect(first).toBe('SparkListenerLogStart');
    expect(last).toBe('SparkListenerApplicationEnd');
    expect(lines).toBe(parts.reduce((n, p) => n + p.lines!, 0));
    expect(taskEnds).toBeGreaterThan(6000);
  });

  it('the in-progress logs lack ApplicationEnd and keep their .inprogress names', () => {
    const single = scenario('inprogress');
    expect(single.complete).toBe(false);
    expect(single.files[0]!.path).toMatch(/\.zstd\.inprogress$/);
    const rolling = scenario('inprogress-rolling');
    expect(rolling.complete).toBe(false);
    expect(rolling.files.some((f) => /appstatus_local-\d+\.inprogress$/.test(f.path))).toBe(true);
    expect(rolling.files.some((f) => /eventlog_v2_local-\d+\/events_1_local-\d+\.zstd$/.test(f.path))).toBe(
      true,
    );
  });

  it('the failures log records retried tasks, a failed stage and a failed job', async () => {
    const events = parseEvents((await decode(singleFile('failures'), 'zstd')).data);
    const taskEnds = byName(events, 'SparkListenerTaskEnd') as {
      'Task End Reason': { Reason: string; 'Class Name'?: string; Description?: string };
      'Task Info': { Attempt: number; Failed: boolean };
    }[];
    const failed = taskEnds.filter((t) => t['Task End Reason'].Reason === 'ExceptionFailure');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.some((t) => t['Task End Reason'].Description?.includes('deliberate failure'))).toBe(true);
    expect(failed.every((t) => t['Task Info'].Failed)).toBe(true);
    expect(
      taskEnds.some((t) => t['Task End Reason'].Reason === 'Success' && t['Task Info'].Attempt >= 1),
    ).toBe(true);
    const jobEnds = byName(events, 'SparkListenerJobEnd') as { 'Job Result': { Result: string } }[];
    expect(jobEnds.map((j) => j['Job Result'].Result)).toEqual(
      expect.arrayContaining(['JobSucceeded', 'JobFailed']),
    );
    const stages = byName(events, 'SparkListenerStageCompleted') as {
      'Stage Info': Record<string, unknown>;
    }[];
    expect(stages.some((s) => typeof s['Stage Info']['Failure Reason'] === 'string')).toBe(true);
    expect(events.at(-1)!.Event).toBe('SparkListenerApplicationEnd');
  });
});

describe('zstd', () => {
  const multiFrame = sharedData(
    'more-events/kubeflow-mcp-apache-spark-history-server/spark41-e2e-events/local-1776286786993.zstd',
  );

  it('decodes a multi-frame Spark 4.1 log (146 frames)', async () => {
    const { data, warnings } = await decode(multiFrame, 'zstd');
    expect(warnings).toEqual([]);
    const events = parseEvents(data);
    expect(events.length).toBe(274);
    expect(events[0]).toMatchObject({ Event: 'SparkListenerLogStart', 'Spark Version': '4.1.0' });
    expect(events.at(-1)!.Event).toBe('SparkListenerApplicationEnd');
  });

  const zstdInputs = [multiFrame, ...eventFiles.filter((f) => f.file.codec === 'zstd').map((f) => f.path)];
  it.runIf(zstdNativeAvailable())('zstd-napi and fzstd produce identical output', async () => {
    for (const path of zstdInputs) {
      const native = await decode(path, 'zstd', { zstdBackend: 'native' });
      const js = await decode(path, 'zstd', { zstdBackend: 'js' });
      expect(js.data.equals(native.data)).toBe(true);
      expect(js.warnings).toEqual(native.warnings);
    }
  });

  it('the JavaScript fallback alone matches Spark', async () => {
    const f = eventFiles.find((x) => x.scenario.scenario === 'codec-zstd')!;
    const { data } = await decode(f.path, 'zstd', { zstdBackend: 'js' });
    expect(sha256(data)).toBe(f.file.decodedSha256);
  });

  it('truncated input yields identical prefixes on both backends', async () => {
    const bytes = readFileSync(multiFrame);
    for (const cut of [bytes.length - 3, Math.floor(bytes.length / 2), 4000]) {
      const path = tmpFile(`cut-${cut}.zstd`, bytes.subarray(0, cut));
      const backends = zstdNativeAvailable() ? (['native', 'js'] as const) : (['js'] as const);
      const results = await Promise.all(backends.map((b) => decode(path, 'zstd', { zstdBackend: b })));
      for (const r of results) {
        expect(r.warnings).toHaveLength(1);
        expect(r.data.equals(results[0]!.data)).toBe(true);
      }
    }
  });
});

describe('gzip', () => {
  it('decodes the Databricks-style gzip log (5370 lines)', async () => {
    const path = sharedData(
      'more-events/spark-rapids-tools/spark-events-qualification/db_sim_eventlog/eventlog-2021-06-15--15-00.gz',
    );
    expect(codecFromFileName(path)).toBe('gzip');
    const { data, warnings, chunks } = await decode(path, 'gzip');
    expect(warnings).toEqual([]);
    expect(parseEvents(data).length).toBe(5370);
    for (const n of chunks.slice(0, -1)) expect(n).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('decodes multi-member gzip', async () => {
    const plain = readFileSync(singleFile('uncompressed'));
    const half = Math.floor(plain.length / 2);
    const path = tmpFile(
      'multi.gz',
      Buffer.concat([gzipSync(plain.subarray(0, half)), gzipSync(plain.subarray(half))]),
    );
    expect((await decode(path, 'gzip')).data.equals(plain)).toBe(true);
  });
});

describe('zip (History Server /logs downloads)', () => {
  const zips = scenario('history-server-zip').files.filter((f) => f.role === 'zip');

  it.each(zips.map((z) => [z.path, z] as const))(
    '%s: entries decode exactly as Spark decodes them',
    async (_, z) => {
      const path = join(EVENTS_DIR, z.path);
      expect(codecFromFileName(path)).toBe('zip');
      const seen: string[] = [];
      for await (const entry of readZip(path)) {
        seen.push(entry.name);
        const expected = z.entries!.find((e) => e.name === entry.name)!;
        expect(entry.uncompressedSize).toBe(expected.uncompressedSize);
        if (expected.role === 'appstatus') continue;
        const codec = codecFromFileName(entry.name) as CodecName;
        const warnings: string[] = [];
        const { data } = await collect(
          decodeStream(entry.open(), codec, `${path}!${entry.name}`, { onWarning: (m) => warnings.push(m) }),
          warnings,
        );
        expect(sha256(data)).toBe(expected.decodedSha256);
        expect(parseEvents(data).length).toBe(expected.lines);
        expect(warnings).toEqual([]);
      }
      expect(seen.sort()).toEqual(z.entries!.map((e) => e.name).sort());
    },
  );

  it('the rolling download holds every part of the eventlog_v2 directory', () => {
    const rolling = zips.find((z) => z.entries!.length > 2)!;
    const names = rolling.entries!.map((e) => e.name);
    expect(
      names.filter((n) => /^eventlog_v2_local-\d+\/events_\d+_local-\d+\.zstd$/.test(n)).length,
    ).toBeGreaterThanOrEqual(3);
    expect(names.some((n) => /\/appstatus_local-\d+$/.test(n))).toBe(true);
  });

  const sharedZip = findShared('eventLogs-application_1489705648216_1600.zip');
  it.runIf(sharedZip !== undefined)(
    'reads the Spark 1.6 History Server zip from shared data (289 lines)',
    async () => {
      const entries: string[] = [];
      let lines = 0;
      for await (const entry of readZip(sharedZip!)) {
        entries.push(entry.name);
        const { data } = await collect(decodeStream(entry.open(), 'none', entry.name), []);
        lines += parseEvents(data).length;
      }
      expect(entries).toEqual(['application_1489705648216_1600']);
      expect(lines).toBe(289);
    },
  );

  it('rejects a file that is not a zip', async () => {
    const path = tmpFile('not-a-zip.zip', 'hello, not a zip at all\n'.repeat(10));
    await expect(collect(zipNames(path), [])).rejects.toMatchObject({ code: 'SPARKPILOT_EVENTLOG_CODEC' });
  });
});

async function* zipNames(path: string): AsyncGenerator<Buffer> {
  for await (const e of readZip(path)) yield Buffer.from(e.name);
}

function findShared(name: string): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = walk(p);
        if (found) return found;
      } else if (entry.name === name) {
        return p;
      }
    }
    return undefined;
  };
  return existsSync(sharedData()) ? walk(sharedData()) : undefined;
}

// ------------------------------------------------------------------------------------------------
// Block layouts, to cut files at exact places.
// ------------------------------------------------------------------------------------------------

interface Block {
  start: number;
  end: number;
  ulen: number;
}

function lz4Blocks(b: Buffer): Block[] {
  const blocks: Block[] = [];
  for (let p = 0; p + 21 <= b.length; ) {
    expect(b.toString('latin1', p, p + 8)).toBe('LZ4Block');
    const end = p + 21 + b.readInt32LE(p + 9);
    blocks.push({ start: p, end, ulen: b.readInt32LE(p + 13) });
    p = end;
  }
  return blocks;
}

function snappyBlocks(b: Buffer): Block[] {
  const blocks: Block[] = [];
  for (let p = 0; p < b.length; ) {
    if (b[p] === 0x82) {
      p += 16;
      continue;
    }
    const end = p + 4 + b.readInt32BE(p);
    let ulen = 0;
    for (let q = p + 4, shift = 0; ; q++, shift += 7) {
      ulen += (b[q]! & 0x7f) * 2 ** shift;
      if (b[q]! < 0x80) break;
    }
    blocks.push({ start: p, end, ulen });
    p = end;
  }
  return blocks;
}

function lzfBlocks(b: Buffer): Block[] {
  const blocks: Block[] = [];
  for (let p = 0; p < b.length; ) {
    expect(b.toString('latin1', p, p + 2)).toBe('ZV');
    const compressed = b[p + 2] === 1;
    const clen = b.readUInt16BE(p + 3);
    const end = p + (compressed ? 7 : 5) + clen;
    blocks.push({ start: p, end, ulen: compressed ? b.readUInt16BE(p + 5) : clen });
    p = end;
  }
  return blocks;
}

const blockLayouts = { lz4: lz4Blocks, snappy: snappyBlocks, lzf: lzfBlocks };

describe('truncated input (a log still being written)', () => {
  it.each(Object.entries(blockLayouts))(
    '%s: cut in the middle of the last block yields the complete prefix and a warning',
    async (codec, layout) => {
      const path = singleFile(`codec-${codec}`);
      const bytes = readFileSync(path);
      const full = (await decode(path, codec as CodecName)).data;
      const blocks = layout(bytes);
      expect(blocks.reduce((n, b) => n + b.ulen, 0)).toBe(full.length);
      const last = blocks.filter((b) => b.ulen > 0).at(-1)!;
      const cut = last.start + Math.floor((last.end - last.start) / 2);
      const cutPath = tmpFile(`truncated.${codec}`, bytes.subarray(0, cut));
      const { data, warnings } = await decode(cutPath, codec as CodecName);
      expect(data.equals(full.subarray(0, full.length - last.ulen))).toBe(true);
      expect(warnings).toEqual([
        `${cutPath}: compressed data ends in the middle of a block (the log is probably still being written or ` +
          `was cut off); the last ${cut - last.start} bytes were not decoded`,
      ]);
      parseEvents(data); // every complete line still parses
      // The same with the input arriving in small random pieces.
      const chunked = await decodeChunked(bytes.subarray(0, cut), codec as CodecName, cutPath);
      expect(chunked.data.equals(data)).toBe(true);
      expect(chunked.warnings).toEqual(warnings);
    },
  );

  it.each(['lz4', 'snappy', 'lzf', 'zstd', 'gzip'] as const)(
    '%s: every cut point yields a prefix of the full output',
    async (codec) => {
      const bytes =
        codec === 'gzip'
          ? gzipSync(readFileSync(singleFile('uncompressed')))
          : readFileSync(singleFile(`codec-${codec}`));
      const full = (await decodeChunked(bytes, codec, 'full')).data;
      let previous = -1;
      for (const fraction of [0.001, 0.1, 0.35, 0.5, 0.75, 0.99]) {
        const cut = Math.max(1, Math.floor(bytes.length * fraction));
        const { data, warnings } = await decodeChunked(bytes.subarray(0, cut), codec, `cut-at-${cut}`);
        expect(data.equals(full.subarray(0, data.length))).toBe(true);
        expect(data.length).toBeGreaterThanOrEqual(previous);
        previous = data.length;
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(
          new RegExp(`^cut-at-${cut}: compressed data ends in the middle of a block`),
        );
      }
      expect(previous).toBeGreaterThan(full.length / 2);
    },
  );

  it('an empty file decodes to nothing, without warnings', async () => {
    const path = tmpFile('empty', '');
    for (const codec of ['none', 'lz4', 'snappy', 'lzf', 'zstd', 'gzip'] as const) {
      const { data, warnings } = await decode(path, codec);
      expect(data.length).toBe(0);
      expect(warnings).toEqual([]);
    }
  });
});

describe('robustness', () => {
  it.each(['lz4', 'snappy', 'lzf', 'zstd'] as const)(
    '%s: input split in random small pieces decodes identically',
    async (codec) => {
      const f = eventFiles.find((x) => x.scenario.scenario === `codec-${codec}`)!;
      const { data, warnings } = await decodeChunked(readFileSync(f.path), codec, f.path);
      expect(sha256(data)).toBe(f.file.decodedSha256);
      expect(warnings).toEqual([]);
    },
  );

  it.each(['lz4', 'snappy', 'lzf', 'zstd', 'gzip'] as const)(
    '%s: concatenated streams decode to the concatenated data',
    async (codec) => {
      const plain = readFileSync(singleFile('uncompressed'));
      const one = codec === 'gzip' ? gzipSync(plain) : readFileSync(singleFile(`codec-${codec}`));
      const expected = codec === 'gzip' ? plain : (await decode(singleFile(`codec-${codec}`), codec)).data;
      const path = tmpFile(`twice.${codec}`, Buffer.concat([one, one]));
      const { data, warnings } = await decode(path, codec);
      expect(data.equals(Buffer.concat([expected, expected]))).toBe(true);
      expect(warnings).toEqual([]);
    },
  );

  it('small highWaterMark reads give the same bytes', async () => {
    const f = eventFiles.find((x) => x.scenario.scenario === 'codec-lz4')!;
    const { data } = await decode(f.path, 'lz4', { highWaterMark: 1000 });
    expect(sha256(data)).toBe(f.file.decodedSha256);
  });

  it('a compressed file without a codec extension is decoded anyway, with a warning', async () => {
    const f = eventFiles.find((x) => x.scenario.scenario === 'codec-snappy')!;
    const path = tmpFile('local-123', readFileSync(f.path));
    const { data, warnings } = await decode(path, 'none');
    expect(sha256(data)).toBe(f.file.decodedSha256);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('decoding it as snappy');
  });
});

describe('errors', () => {
  const text = '{"Event":"SparkListenerLogStart","Spark Version":"4.0.0"}\n'.repeat(50);

  it.each(['x.lz4', 'x.snappy', 'x.lzf', 'x.zstd', 'x.gz'])(
    'a plain text file named %s fails with SPARKPILOT_EVENTLOG_CODEC naming the file',
    async (name) => {
      const path = tmpFile(name, text);
      const codec = codecFromFileName(name) as CodecName;
      const error = await decode(path, codec).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EventLogError);
      expect(error).toMatchObject({ code: 'SPARKPILOT_EVENTLOG_CODEC', location: { file: path } });
      const message = (error as Error).message;
      expect(message).toContain(path);
      expect(message).toContain("Check the file's extension matches spark.eventLog.compression.codec");
      expect(message).toContain('looks like an uncompressed event log');
      expect(message).toContain('7b 22 45 76'); // shows what the file starts with
    },
  );

  it('a tiny non-matching file is a codec error, not a truncation', async () => {
    for (const [name, codec] of [
      ['tiny.zstd', 'zstd'],
      ['tiny.lz4', 'lz4'],
      ['tiny.lzf', 'lzf'],
      ['tiny.snappy', 'snappy'],
    ] as const) {
      await expect(decode(tmpFile(name, '{}'), codec)).rejects.toMatchObject({
        code: 'SPARKPILOT_EVENTLOG_CODEC',
      });
    }
  });

  it('lz4: a damaged block header in the middle is SPARKPILOT_EVENTLOG_CORRUPT with its byte offset', async () => {
    const bytes = Buffer.from(readFileSync(singleFile('codec-lz4')));
    const second = lz4Blocks(bytes)[1]!;
    bytes.write('XXXX', second.start, 'latin1');
    const path = tmpFile('damaged.lz4', bytes);
    const error = await decode(path, 'lz4').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SPARKPILOT_EVENTLOG_CORRUPT' });
    expect((error as Error).message).toContain(
      `${path}: corrupt lz4-java LZ4Block data at byte ${second.start}`,
    );
  });

  it('lz4: damaged compressed bytes fail the checksum or the block decoding', async () => {
    const bytes = Buffer.from(readFileSync(singleFile('codec-lz4')));
    const first = lz4Blocks(bytes)[0]!;
    for (let i = first.start + 100; i < first.start + 110; i++) bytes[i] = bytes[i]! ^ 0x55;
    await expect(decode(tmpFile('flipped.lz4', bytes), 'lz4')).rejects.toMatchObject({
      code: 'SPARKPILOT_EVENTLOG_CORRUPT',
    });
  });

  it.each(['snappy', 'lzf'] as const)(
    '%s: damaged compressed bytes are SPARKPILOT_EVENTLOG_CORRUPT',
    async (codec) => {
      const bytes = Buffer.from(readFileSync(singleFile(`codec-${codec}`)));
      const blocks = blockLayouts[codec](bytes);
      const target = blocks.find((b) => b.end - b.start > 1000)!;
      // Garbage over a whole block: decoding cannot land on the declared length.
      bytes.fill(0xff, target.start + 10, target.end);
      await expect(decode(tmpFile(`damaged.${codec}`, bytes), codec)).rejects.toMatchObject({
        code: 'SPARKPILOT_EVENTLOG_CORRUPT',
      });
    },
  );

  it('zstd: garbage after the first frames is SPARKPILOT_EVENTLOG_CORRUPT, after yielding the good frames', async () => {
    const good = readFileSync(singleFile('codec-zstd'));
    const path = tmpFile('garbage-after.zstd', Buffer.concat([good, Buffer.from('this is not zstd at all')]));
    for (const backend of ['auto', 'js'] as const) {
      const parts: Buffer[] = [];
      const error = await (async () => {
        for await (const c of decodeFile(path, 'zstd', { zstdBackend: backend })) parts.push(c);
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SPARKPILOT_EVENTLOG_CORRUPT' });
      expect((error as Error).message).toContain(`at byte ${good.length}`);
      expect(Buffer.concat(parts).length).toBe(scenario('codec-zstd').files[0]!.decodedBytes);
    }
  });

  it('a missing file is SPARKPILOT_EVENTLOG_NOT_FOUND', async () => {
    const path = join(tmp, 'does-not-exist.zstd');
    await expect(decode(path, 'zstd')).rejects.toMatchObject({ code: 'SPARKPILOT_EVENTLOG_NOT_FOUND' });
  });

  it('a directory is SPARKPILOT_EVENTLOG_UNREADABLE', async () => {
    await expect(decode(tmp, 'none')).rejects.toMatchObject({ code: 'SPARKPILOT_EVENTLOG_UNREADABLE' });
  });
});

describe('cancellation', () => {
  it.each(['none', 'lz4', 'zstd', 'gzip'] as const)(
    '%s: abort mid-stream rethrows signal.reason',
    async (codec) => {
      const path =
        codec === 'gzip'
          ? tmpFile('abort.gz', gzipSync(readFileSync(singleFile('uncompressed'))))
          : codec === 'none'
            ? singleFile('uncompressed')
            : singleFile(`codec-${codec}`);
      const controller = new AbortController();
      const reason = new Error('stop now');
      let chunks = 0;
      const run = async () => {
        for await (const _ of decodeFile(path, codec, { signal: controller.signal, highWaterMark: 4096 })) {
          chunks++;
          controller.abort(reason);
        }
      };
      await expect(run()).rejects.toBe(reason);
      expect(chunks).toBe(1);
    },
  );

  it('an already aborted signal fails before reading', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(decode(join(tmp, 'missing'), 'zstd', { signal: controller.signal })).rejects.toThrow(
      'early',
    );
  });

  it('a source that never answers is abandoned on abort', async () => {
    const controller = new AbortController();
    const never: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
    };
    setTimeout(() => controller.abort(new Error('timeout')), 20);
    await expect(
      collect(decodeStream(never, 'zstd', 'never', { signal: controller.signal }), []),
    ).rejects.toThrow('timeout');
  });

  it('breaking out of the loop early closes cleanly', async () => {
    for (const codec of ['none', 'lz4', 'snappy', 'lzf', 'zstd'] as const) {
      const path = codec === 'none' ? singleFile('uncompressed') : singleFile(`codec-${codec}`);
      for await (const chunk of decodeFile(path, codec, { highWaterMark: 1024 })) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
    }
  });
});

describe('blocking reads (the collector worker threads)', () => {
  it('decode every codec to the same bytes as streamed reads, whatever the read size', async () => {
    for (const codec of ['none', 'lz4', 'snappy', 'lzf', 'zstd'] as const) {
      const path = codec === 'none' ? singleFile('uncompressed') : singleFile(`codec-${codec}`);
      const streamed = await decode(path, codec);
      expect(streamed.data.length).toBeGreaterThan(1000);
      for (const highWaterMark of [1, 777, 64 * 1024, 8 << 20]) {
        const blocking = await decode(path, codec, { blockingReads: true, highWaterMark });
        expect(blocking.data.equals(streamed.data), `${codec} at ${highWaterMark}`).toBe(true);
        expect(blocking.warnings).toEqual(streamed.warnings);
      }
    }
  });

  it('report a missing file the same way', async () => {
    const missing = join(tmpdir(), `sparkpilot-missing-${process.pid}.zstd`);
    for (const blockingReads of [false, true]) {
      const err = await decode(missing, 'zstd', { blockingReads }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventLogError);
      expect((err as EventLogError).code).toBe('SPARKPILOT_EVENTLOG_NOT_FOUND');
      expect((err as EventLogError).message).toContain(missing);
    }
  });
});

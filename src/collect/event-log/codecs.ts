// TEMPORARY stub written by the lead engineer so the parser can be tested; helper-1 replaces this file entirely.
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';

export type CodecName = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf' | 'gzip';
export function codecFromFileName(fileName: string): CodecName | 'zip' {
  let n = fileName.toLowerCase();
  for (const s of ['.inprogress', '.compact']) if (n.endsWith(s)) n = n.slice(0, -s.length);
  const ext = n.slice(n.lastIndexOf('.') + 1);
  if (ext === 'zstd' || ext === 'zst') return 'zstd';
  if (ext === 'lz4' || ext === 'snappy' || ext === 'lzf') return ext;
  if (ext === 'gz') return 'gzip';
  if (ext === 'zip') return 'zip';
  return 'none';
}
export interface DecodeOptions { signal?: AbortSignal; onWarning?: (message: string) => void; highWaterMark?: number }
export async function* decodeStream(source: AsyncIterable<Uint8Array>, codec: CodecName, _label: string, _o?: DecodeOptions): AsyncIterable<Buffer> {
  if (codec === 'none') { for await (const c of source) yield Buffer.from(c); return; }
  if (codec === 'gzip') { const g = createGunzip(); const p = (async () => { for await (const c of source) g.write(c); g.end(); })(); for await (const c of g) yield c as Buffer; await p; return; }
  if (codec === 'zstd') {
    const zn = createRequire(import.meta.url)('zstd-napi');
    const d = new zn.DecompressStream();
    const p = (async () => { for await (const c of source) d.write(c); d.end(); })();
    for await (const c of d) yield c as Buffer; await p; return;
  }
  throw new Error(`codec ${codec} not in stub`);
}
export function decodeFile(path: string, codec: CodecName, o?: DecodeOptions): AsyncIterable<Buffer> {
  return decodeStream(createReadStream(path, { highWaterMark: 1 << 20 }), codec, path, o);
}
export interface ZipEntry { name: string; uncompressedSize: number; open(): AsyncIterable<Buffer> }
export async function* readZip(path: string, _o?: { signal?: AbortSignal }): AsyncIterable<ZipEntry> {
  const zip: yauzl.ZipFile = await new Promise((res, rej) => yauzl.open(path, { lazyEntries: true }, (e, z) => (e ? rej(e) : res(z!))));
  try {
    while (true) {
      const entry: yauzl.Entry | null = await new Promise((res, rej) => { zip.once('entry', res); zip.once('end', () => res(null)); zip.once('error', rej); zip.readEntry(); });
      if (!entry) return;
      const stream: NodeJS.ReadableStream = await new Promise((res, rej) => zip.openReadStream(entry, (e, s) => (e ? rej(e) : res(s!))));
      yield { name: entry.fileName, uncompressedSize: entry.uncompressedSize, open: () => stream as unknown as AsyncIterable<Buffer> };
    }
  } finally { zip.close(); }
}

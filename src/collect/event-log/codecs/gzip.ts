/**
 * gzip, seen in repackaged event logs: node's zlib gunzip, fed and drained as the input streams by.
 *
 * @module
 */

import { createGunzip } from 'node:zlib';
import { type Ctx, corrupt, EMPTY, flush, KiB, notCodec, TRUNCATED, warnTruncated } from './io.js';

const GZIP_WRITE = 64 * KiB;

/** Decodes gzip data. */
export async function* decodeGzip(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  if (!(await input.fill(2))) {
    if (input.avail === 0) return;
    if (input.buf[input.pos] !== 0x1f) throw notCodec(ctx, 'gzip', input.buf.subarray(input.pos));
    warnTruncated(ctx, input.avail);
    return;
  }
  if (input.buf[input.pos] !== 0x1f || input.buf[input.pos + 1] !== 0x8b) {
    throw notCodec(ctx, 'gzip', input.buf.subarray(input.pos));
  }
  const gz = createGunzip({ chunkSize: 64 * KiB });
  const queue: Buffer[] = [];
  let error: (Error & { code?: string }) | undefined;
  let ended = false;
  let writesPending = 0;
  let inputDone = false;
  let fed = 0;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  gz.on('data', (c: Buffer) => {
    queue.push(c);
    notify();
  });
  gz.on('error', (e: Error) => {
    error = e;
    notify();
  });
  gz.on('end', () => {
    ended = true;
    notify();
  });
  const written = (): void => {
    writesPending--;
    notify();
  };
  // The bytes fill() already buffered go first.
  let held: Uint8Array | undefined = input.buf.subarray(input.pos);
  input.buf = EMPTY;
  input.pos = 0;
  try {
    for (;;) {
      if (!inputDone && writesPending === 0 && error === undefined) {
        const chunk = held ?? (await input.pull());
        held = undefined;
        if (chunk === undefined) {
          inputDone = true;
          gz.end();
        } else {
          for (let p = 0; p < chunk.length; p += GZIP_WRITE) {
            writesPending++;
            gz.write(chunk.subarray(p, p + GZIP_WRITE), written);
          }
          fed += chunk.length;
        }
      }
      while (queue.length > 0) {
        const piece = queue.shift()!;
        if (out.pos === 0 && piece.length >= out.size) {
          yield piece;
          continue;
        }
        yield* out.append(piece);
      }
      if (error !== undefined) {
        yield* flush(out);
        if (error.code === 'Z_BUF_ERROR') {
          ctx.options.onWarning?.(
            `${ctx.label}: ${TRUNCATED}; the data after the last complete deflate block was not decoded`,
          );
          return;
        }
        throw corrupt(ctx, 'gzip', fed, `${error.message} (somewhere before this offset)`, error);
      }
      if (ended) break;
      if (!inputDone && writesPending === 0) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    yield* flush(out);
  } finally {
    wake = undefined;
    gz.destroy();
  }
}

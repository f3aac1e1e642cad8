/**
 * Picks the decoder of a codec, and decodes uncompressed input (or compressed input whose file name
 * does not say so).
 *
 * @module
 */

import { EventLogError, throwIfAborted } from '../../../errors.js';
import { CODEC_NAMES, type CodecName, compressedCodecOf } from './detect.js';
import { decodeGzip } from './gzip.js';
import {
  CODEC_WHAT,
  type Ctx,
  chunkOption,
  type DecodeOptions,
  EMPTY,
  flush,
  Input,
  MIN_OUTPUT_CHUNK,
  Output,
  toBuffer,
} from './io.js';
import { decodeLz4 } from './lz4.js';
import { decodeLzf } from './lzf.js';
import { decodeSnappy } from './snappy.js';
import { decodeZstd } from './zstd.js';

/** The decoder of each codec. */
const DECODERS: Readonly<Record<CodecName, (ctx: Ctx) => AsyncGenerator<Buffer>>> = {
  none: decodeNone,
  zstd: decodeZstd,
  lz4: decodeLz4,
  snappy: decodeSnappy,
  lzf: decodeLzf,
  gzip: decodeGzip,
};

/** Decodes `source` with `codec`'s decoder; see `decodeStream`. */
export async function* decodeGenerator(
  source: AsyncIterable<Uint8Array>,
  codec: CodecName,
  label: string,
  options: DecodeOptions,
): AsyncGenerator<Buffer> {
  const readSize = chunkOption(options.highWaterMark);
  throwIfAborted(options.signal);
  const input = new Input(source, label, options.signal);
  const ctx: Ctx = { input, out: new Output(Math.max(readSize, MIN_OUTPUT_CHUNK)), label, options };
  try {
    const decode = Object.hasOwn(DECODERS, codec) ? DECODERS[codec] : undefined;
    if (decode === undefined) {
      throw new EventLogError(
        'SPARKPILOT_EVENTLOG_CODEC',
        { file: label },
        `unknown codec ${JSON.stringify(codec)}; expected one of ${CODEC_NAMES.join(', ')}.`,
      );
    }
    yield* decode(ctx);
  } finally {
    await input.close();
  }
}

async function* decodeNone(ctx: Ctx): AsyncGenerator<Buffer> {
  const { input, out } = ctx;
  // A compressed file without a codec extension (a renamed or downloaded copy) is decoded anyway.
  if (!(await input.fill(8)) && input.avail === 0) return;
  const guess = compressedCodecOf(input.buf.subarray(input.pos));
  if (guess !== undefined) {
    ctx.options.onWarning?.(
      `${ctx.label}: the file name has no codec extension but the data is ${CODEC_WHAT[guess]}; ` +
        `decoding it as ${guess}`,
    );
    yield* DECODERS[guess](ctx);
    return;
  }
  let bytes: Uint8Array | undefined = input.buf.subarray(input.pos);
  input.buf = EMPTY;
  input.pos = 0;
  while (bytes !== undefined) {
    if (out.pos === 0 && bytes.length >= out.size) {
      yield toBuffer(bytes);
    } else {
      yield* out.append(bytes);
    }
    bytes = await input.pull();
  }
  yield* flush(out);
}

/**
 * Worker thread entry of the event-log collector: parses the units it is sent, one at a time.
 * @module
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventLogError, SparkpilotError } from '../../errors.js';
import { parseLogUnit } from './parse.js';
import { deserializeUnit, parsedOf, type WorkerReply, type WorkerRequest } from './protocol.js';

const { options } = workerData as { options: { maxLineBytes: number; exactQuantileValues: number } };

// Units are parsed one at a time, in the order they come: the collector sends the next one ahead.
const queue: WorkerRequest[] = [];
let busy = false;
parentPort?.on('message', (msg: WorkerRequest) => {
  queue.push(msg);
  if (!busy) void drain();
});

async function drain(): Promise<void> {
  busy = true;
  for (let msg = queue.shift(); msg; msg = queue.shift()) parentPort?.postMessage(await parseOne(msg));
  busy = false;
}

async function parseOne(msg: WorkerRequest): Promise<WorkerReply> {
  let reply: WorkerReply;
  try {
    // This thread only parses: blocking reads save a trip through libuv's thread pool per read.
    const model = await parseLogUnit(deserializeUnit(msg.unit), { ...options, blockingReads: true });
    // Rows for a store are strings: cheaper to send than the model's objects, and the writer's thread
    // does not serialize them.
    reply = { index: msg.index, ok: true, parsed: parsedOf(model, msg.rows) };
  } catch (err) {
    const e = err as Error;
    const loc = err instanceof EventLogError ? err.location : { file: msg.unit.name };
    const message = e.message ?? String(err);
    reply = {
      index: msg.index,
      ok: false,
      error: {
        code: err instanceof SparkpilotError ? err.code : 'SPARKPILOT_EVENTLOG_UNREADABLE',
        message:
          err instanceof SparkpilotError
            ? message
            : `[sparkpilot] [event-log] ${loc.file}: could not be parsed: ${message}. Please report this with the file.`,
        detail: message,
        file: loc.file,
        ...(loc.line !== undefined ? { line: loc.line } : {}),
      },
    };
  }
  return reply;
}

/**
 * Worker thread entry of the event-log collector: parses the units it is sent, one at a time.
 * @module
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventLogError, SparkpilotError } from '../../errors.js';
import { parseLogUnit } from './parse.js';
import { deserializeUnit, type SerializedUnit, type WorkerReply } from './protocol.js';

const { options } = workerData as { options: { maxLineBytes: number; exactQuantileValues: number } };

parentPort?.on('message', async (msg: { index: number; unit: SerializedUnit }) => {
  let reply: WorkerReply;
  try {
    const model = await parseLogUnit(deserializeUnit(msg.unit), options);
    reply = { index: msg.index, ok: true, model };
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
  parentPort?.postMessage(reply);
});

/**
 * The task events (`SparkListenerTaskStart`, `SparkListenerTaskEnd`) are nearly every line of a log. They are
 * read into one reusable flat record, either by a selective byte scanner (successful task ends and task
 * starts, the hot path) or from parsed JSON (everything else), so the replay never allocates per task.
 * @module
 */
import { EXECUTOR_METRIC_NAMES } from '../../model/metrics.js';
import { bytesAt, quoteAt } from './bytes.js';

/** Slots of a {@link TaskRecord}'s `values`. Task metrics first, in the replay's metric order. */
export const T = {
  executorDeserializeTime: 0,
  executorDeserializeCpuTime: 1,
  executorRunTime: 2,
  executorCpuTime: 3,
  resultSize: 4,
  jvmGcTime: 5,
  resultSerializationTime: 6,
  memoryBytesSpilled: 7,
  diskBytesSpilled: 8,
  peakExecutionMemory: 9,
  inputBytes: 10,
  inputRecords: 11,
  outputBytes: 12,
  outputRecords: 13,
  remoteBlocksFetched: 14,
  localBlocksFetched: 15,
  fetchWaitTime: 16,
  remoteBytesRead: 17,
  remoteBytesReadToDisk: 18,
  localBytesRead: 19,
  shuffleRecordsRead: 20,
  remoteReqsDuration: 21,
  corruptMergedBlockChunks: 22,
  mergedFetchFallbackCount: 23,
  remoteMergedBlocksFetched: 24,
  localMergedBlocksFetched: 25,
  remoteMergedChunksFetched: 26,
  localMergedChunksFetched: 27,
  remoteMergedBytesRead: 28,
  localMergedBytesRead: 29,
  remoteMergedReqsDuration: 30,
  shuffleBytesWritten: 31,
  shuffleWriteTime: 32,
  shuffleRecordsWritten: 33,
  // Not metrics:
  stageId: 34,
  stageAttemptId: 35,
  taskId: 36,
  index: 37,
  launchTime: 38,
  finishTime: 39,
  gettingResultTime: 40,
  speculative: 41,
  hasMetrics: 42,
  /** First of the executor metrics, in {@link EXECUTOR_METRIC_NAMES} order. */
  executorMetrics: 43,
} as const;

/** Number of task metric slots (the prefix of `values` that the replay sums). */
export const N_TASK_METRICS = 34;
/** Number of executor metrics kept per task. */
export const N_EXECUTOR_METRICS = EXECUTOR_METRIC_NAMES.length;
const N_VALUES = T.executorMetrics + N_EXECUTOR_METRICS;

/** One task start or end, flattened. Reused for every task event. */
export interface TaskRecord {
  values: Float64Array;
  executorId: string;
}

/** A fresh, zeroed record. */
export function newTaskRecord(): TaskRecord {
  return { values: new Float64Array(N_VALUES), executorId: '' };
}

const METRIC_KEYS: [string, number][] = [
  ['Executor Deserialize Time', T.executorDeserializeTime],
  ['Executor Deserialize CPU Time', T.executorDeserializeCpuTime],
  ['Executor Run Time', T.executorRunTime],
  ['Executor CPU Time', T.executorCpuTime],
  ['Result Size', T.resultSize],
  ['JVM GC Time', T.jvmGcTime],
  ['Result Serialization Time', T.resultSerializationTime],
  ['Memory Bytes Spilled', T.memoryBytesSpilled],
  ['Disk Bytes Spilled', T.diskBytesSpilled],
  ['Peak Execution Memory', T.peakExecutionMemory],
  ['Bytes Read', T.inputBytes],
  ['Records Read', T.inputRecords],
  ['Bytes Written', T.outputBytes],
  ['Records Written', T.outputRecords],
  ['Remote Blocks Fetched', T.remoteBlocksFetched],
  ['Local Blocks Fetched', T.localBlocksFetched],
  ['Fetch Wait Time', T.fetchWaitTime],
  ['Remote Bytes Read', T.remoteBytesRead],
  ['Remote Bytes Read To Disk', T.remoteBytesReadToDisk],
  ['Local Bytes Read', T.localBytesRead],
  ['Total Records Read', T.shuffleRecordsRead],
  ['Remote Requests Duration', T.remoteReqsDuration],
  ['Corrupt Merged Block Chunks', T.corruptMergedBlockChunks],
  ['Merged Fallback Count', T.mergedFetchFallbackCount],
  ['Merged Fetch Fallback Count', T.mergedFetchFallbackCount],
  ['Merged Remote Blocks Fetched', T.remoteMergedBlocksFetched],
  ['Merged Local Blocks Fetched', T.localMergedBlocksFetched],
  ['Merged Remote Chunks Fetched', T.remoteMergedChunksFetched],
  ['Merged Local Chunks Fetched', T.localMergedChunksFetched],
  ['Merged Remote Bytes Read', T.remoteMergedBytesRead],
  ['Merged Local Bytes Read', T.localMergedBytesRead],
  ['Merged Remote Requests Duration', T.remoteMergedReqsDuration],
  ['Shuffle Bytes Written', T.shuffleBytesWritten],
  ['Shuffle Write Time', T.shuffleWriteTime],
  ['Shuffle Records Written', T.shuffleRecordsWritten],
];

const NUMBER_KEYS: [string, number][] = [
  ...METRIC_KEYS,
  ['Stage ID', T.stageId],
  ['Stage Attempt ID', T.stageAttemptId],
  ['Task ID', T.taskId],
  ['Index', T.index],
  ['Launch Time', T.launchTime],
  ['Finish Time', T.finishTime],
  ['Getting Result Time', T.gettingResultTime],
  ...EXECUTOR_METRIC_NAMES.map((n, i) => [n, T.executorMetrics + i] as [string, number]),
];

// Key lookup by a hash of the key's bytes, confirmed byte by byte.
const SLOT_SPECULATIVE = -2;
const SLOT_EXECUTOR_ID = -3;
const SLOT_TASK_METRICS = -4;
const SLOT_ACCUMULABLES = -5;
const SLOT_REASON = -6;
const TABLE_BITS = 10;
const TABLE_SIZE = 1 << TABLE_BITS;
const tableKeys: (Buffer | undefined)[] = new Array(TABLE_SIZE);
const tableSlots = new Int32Array(TABLE_SIZE);

function hashBytes(buf: Uint8Array, start: number, end: number): number {
  // Cheap and good enough for ~70 fixed keys: length and three bytes; collisions are resolved by comparing.
  const len = end - start;
  if (len === 0) return 0;
  return (len * 131 + buf[start]! * 31 + buf[start + (len >> 1)]! * 7 + buf[end - 1]!) & (TABLE_SIZE - 1);
}

function addKey(key: string, slot: number): void {
  const bytes = Buffer.from(key, 'latin1');
  let h = hashBytes(bytes, 0, bytes.length);
  while (tableKeys[h] !== undefined) h = (h + 1) & (TABLE_SIZE - 1);
  tableKeys[h] = bytes;
  tableSlots[h] = slot;
}
for (const [k, s] of NUMBER_KEYS) addKey(k, s);
addKey('Speculative', SLOT_SPECULATIVE);
addKey('Executor ID', SLOT_EXECUTOR_ID);
addKey('Task Metrics', SLOT_TASK_METRICS);
addKey('Accumulables', SLOT_ACCUMULABLES);
addKey('Reason', SLOT_REASON);

function lookup(buf: Uint8Array, start: number, end: number): number {
  let h = hashBytes(buf, start, end);
  const len = end - start;
  for (;;) {
    const k = tableKeys[h];
    if (k === undefined) return -1;
    if (k.length === len && bytesAt(buf, start, end, k)) return tableSlots[h]!;
    h = (h + 1) & (TABLE_SIZE - 1);
  }
}

const SUCCESS = Buffer.from('"Success"');

// Executor ids repeat on every task line: keep the few distinct ones instead of a new string per task.
const executorIds: { bytes: Buffer; id: string }[] = [];
function internExecutorId(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  for (const e of executorIds) if (e.bytes.length === len && bytesAt(buf, start, end, e.bytes)) return e.id;
  const id = buf.toString('utf8', start, end);
  if (executorIds.length < 64) executorIds.unshift({ bytes: Buffer.from(buf.subarray(start, end)), id });
  else executorIds[executorIds.length - 1] = { bytes: Buffer.from(buf.subarray(start, end)), id };
  return id;
}
const AFTER_ACCUMULABLES = Buffer.from(']},"Task ');

/**
 * Reads a task start, or a task end whose reason is `Success`, from the bytes of its line into `rec`,
 * without building objects. Returns false (and the caller parses the JSON instead) for anything else: a
 * failed task, a line it does not recognise, or a number it cannot read exactly.
 *
 * It relies on what JsonProtocol writes: the keys it reads occur once in such a line, and a key is a string
 * followed by `:`. A string value can never contain an unescaped `"`, so it cannot be mistaken for a key.
 */
export function scanTaskLine(
  buf: Buffer,
  start: number,
  end: number,
  isEnd: boolean,
  rec: TaskRecord,
): boolean {
  const v = rec.values;
  v.fill(0);
  rec.executorId = '';
  let sawReason = !isEnd;
  let sawTaskId = false;
  let i = start;
  while (i < end) {
    // Next string (a key, or a string value).
    const q = quoteAt(buf, i, end);
    if (q >= end) break;
    const s = q + 1;
    let j = quoteAt(buf, s, end);
    while (j < end && buf[j - 1] === 92) {
      // An escaped quote inside a value; count the backslashes before it.
      let b = j - 1;
      while (buf[b - 1] === 92) b--;
      if ((j - b) % 2 === 0) break;
      j = quoteAt(buf, j + 1, end);
    }
    if (j >= end) return false;
    if (buf[j + 1] !== 58) {
      // A string value, not a key.
      i = j + 1;
      continue;
    }
    const slot = lookup(buf, s, j);
    i = j + 2;
    if (slot === -1) continue;
    const c = buf[i];
    if (slot >= 0) {
      // A number (integers only; anything else falls back to JSON).
      let neg = false;
      let k = i;
      if (buf[k] === 45) {
        neg = true;
        k++;
      }
      let n = 0;
      const digits = k;
      while (k < end) {
        const d = buf[k]! - 48;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
        k++;
      }
      if (k === digits) {
        if (c === 110) {
          i += 4; // null
          continue;
        }
        return false;
      }
      const after = buf[k];
      if (after === 46 || after === 101 || after === 69) return false;
      if (n > Number.MAX_SAFE_INTEGER) return false;
      v[slot] = neg ? -n : n;
      if (slot === T.taskId) sawTaskId = true;
      i = k;
      continue;
    }
    switch (slot) {
      case SLOT_SPECULATIVE:
        v[T.speculative] = c === 116 ? 1 : 0;
        break;
      case SLOT_EXECUTOR_ID: {
        if (c !== 34) return false;
        let k = i + 1;
        while (k < end && buf[k] !== 34) {
          if (buf[k] === 92) return false;
          k++;
        }
        rec.executorId = internExecutorId(buf, i + 1, k);
        i = k + 1;
        break;
      }
      case SLOT_TASK_METRICS:
        if (c === 123) v[T.hasMetrics] = 1;
        break;
      case SLOT_ACCUMULABLES: {
        // Skip the task's accumulables (they repeat the metrics): jump to the end of Task Info.
        if (c !== 91) return false;
        if (buf[i + 1] === 93) {
          i += 2;
          break;
        }
        const b = buf.indexOf(AFTER_ACCUMULABLES, i);
        // Not followed by another Task section (a task start that lists accumulables): scan through them.
        if (b >= 0 && b < end) i = b + 1;
        break;
      }
      case SLOT_REASON:
        if (!isEnd) return false;
        if (!bytesAt(buf, i, end, SUCCESS)) return false;
        sawReason = true;
        i += SUCCESS.length;
        break;
    }
  }
  return sawReason && sawTaskId && rec.executorId !== '';
}

const num = (x: unknown): number => (typeof x === 'number' ? x : typeof x === 'string' ? Number(x) || 0 : 0);

// biome-ignore lint/suspicious/noExplicitAny: events are parsed JSON
type Json = any;

/** Fills `out` (from `offset`) with the executor metrics of a parsed `ExecutorMetrics` object; missing = 0. */
export function readExecutorMetrics(src: Json, out: Float64Array, offset: number): void {
  for (let i = 0; i < N_EXECUTOR_METRICS; i++)
    out[offset + i] = src ? num(src[EXECUTOR_METRIC_NAMES[i]!]) : 0;
}

/** Fills `rec` from a parsed task start or task end event. */
export function taskRecordFromJson(e: Json, rec: TaskRecord): void {
  const v = rec.values;
  v.fill(0);
  const ti = e['Task Info'] ?? {};
  rec.executorId = String(ti['Executor ID'] ?? '');
  v[T.stageId] = num(e['Stage ID']);
  v[T.stageAttemptId] = num(e['Stage Attempt ID']);
  v[T.taskId] = num(ti['Task ID']);
  v[T.index] = num(ti.Index);
  v[T.launchTime] = num(ti['Launch Time']);
  v[T.finishTime] = num(ti['Finish Time']);
  v[T.gettingResultTime] = num(ti['Getting Result Time']);
  v[T.speculative] = ti.Speculative === true ? 1 : 0;
  const tm = e['Task Metrics'];
  if (tm !== undefined && tm !== null) {
    v[T.hasMetrics] = 1;
    const read = (obj: Json, keys: [string, number][]) => {
      if (!obj) return;
      for (const [k, slot] of keys) if (obj[k] !== undefined) v[slot] = num(obj[k]);
    };
    read(tm, METRIC_KEYS.slice(0, 10));
    read(tm['Input Metrics'], METRIC_KEYS.slice(10, 12));
    read(tm['Output Metrics'], METRIC_KEYS.slice(12, 14));
    const sr = tm['Shuffle Read Metrics'];
    read(sr, METRIC_KEYS.slice(14, 22));
    if (sr) read(sr['Shuffle Push Read Metrics'] ?? sr['Push Based Shuffle'], METRIC_KEYS.slice(22, 32));
    read(tm['Shuffle Write Metrics'], METRIC_KEYS.slice(32));
  }
  readExecutorMetrics(e['Task Executor Metrics'], v, T.executorMetrics);
}

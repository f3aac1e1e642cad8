/**
 * Human-readable formatting of models for the CLI.
 * @module
 */
import { formatBytes, formatMs as formatDuration } from '../analyze/units.js';
import { type ApplicationAttemptModel, sparkVersionOf } from '../model/attempt.js';

export { formatBytes, formatDuration };

/** A few lines summarising one application attempt. */
export function summarizeAttempt(m: ApplicationAttemptModel): string {
  const a = m.application.attempts[0]!;
  const lines: string[] = [];
  const title = `${m.appId}${m.attemptId !== undefined ? ` (attempt ${m.attemptId})` : ''}  "${m.application.name}"`;
  lines.push(title);
  const from = m.sources[0] ?? '';
  lines.push(`  read from ${from}${m.sources.length > 1 ? ` (+${m.sources.length - 1} more parts)` : ''}`);
  const when =
    a.startTimeEpoch > 0 ? a.startTime.replace('T', ' ').replace(/\.\d+GMT$/, ' GMT') : 'unknown start';
  lines.push(
    `  Spark ${sparkVersionOf(m) || '(unknown version)'} · user ${a.sparkUser || '?'} · started ${when} · ${
      a.completed ? `ran ${formatDuration(a.duration)}` : 'INCOMPLETE (no application end)'
    }`,
  );
  const executors = m.executors.filter((e) => e.id !== 'driver');
  const maxCores = executors.reduce((x, e) => Math.max(x, e.totalCores), 0);
  const removed = executors.filter((e) => !e.isActive).length;
  lines.push(
    `  executors: ${executors.length}${executors.length ? ` (up to ${maxCores} core${maxCores === 1 ? '' : 's'} each${removed ? `, ${removed} removed` : ''})` : ' (driver only)'}`,
  );
  const failedJobs = m.jobs.filter((j) => j.status === 'FAILED').length;
  const failedStages = m.stages.filter((s) => s.status === 'FAILED').length;
  const skippedStages = m.stages.filter((s) => s.status === 'SKIPPED').length;
  let tasks = 0;
  let failedTasks = 0;
  let killedTasks = 0;
  const sum = { run: 0, cpu: 0, gc: 0, input: 0, output: 0, sr: 0, sw: 0, mem: 0, disk: 0 };
  for (const s of m.stages) {
    tasks += s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks;
    failedTasks += s.numFailedTasks;
    killedTasks += s.numKilledTasks;
    sum.run += s.executorRunTime;
    sum.cpu += s.executorCpuTime / 1e6;
    sum.gc += s.jvmGcTime;
    sum.input += s.inputBytes;
    sum.output += s.outputBytes;
    sum.sr += s.shuffleReadBytes;
    sum.sw += s.shuffleWriteBytes;
    sum.mem += s.memoryBytesSpilled;
    sum.disk += s.diskBytesSpilled;
  }
  lines.push(
    `  jobs ${m.jobs.length}${failedJobs ? ` (${failedJobs} failed)` : ''} · stages ${m.stages.length}${
      failedStages || skippedStages ? ` (${failedStages} failed, ${skippedStages} skipped)` : ''
    } · tasks ${tasks}${failedTasks || killedTasks ? ` (${failedTasks} failed, ${killedTasks} killed)` : ''}`,
  );
  lines.push(
    `  executor run ${formatDuration(sum.run)} · CPU ${formatDuration(sum.cpu)} · GC ${formatDuration(sum.gc)}${
      sum.run > 0 ? ` (${((100 * sum.gc) / sum.run).toFixed(1)}%)` : ''
    }`,
  );
  lines.push(
    `  input ${formatBytes(sum.input)} · output ${formatBytes(sum.output)} · shuffle read ${formatBytes(sum.sr)} / write ${formatBytes(sum.sw)} · spill memory ${formatBytes(sum.mem)} / disk ${formatBytes(sum.disk)}`,
  );
  for (const f of m.failures.slice(0, 5)) {
    const msg = headline(f.sampleMessages[0]);
    lines.push(
      `  failure: ${f.reason}${f.className ? ` ${f.className}` : ''} ×${f.count}${msg ? `: ${msg}` : ''}`,
    );
  }
  if (m.failures.length > 5) lines.push(`  … and ${m.failures.length - 5} more failure kinds`);
  for (const w of m.warnings.slice(0, 5)) {
    lines.push(`  warning: ${w.line !== undefined ? `line ${w.line}: ` : ''}${w.message}`);
  }
  if (m.warnings.length > 5) lines.push(`  … and ${m.warnings.length - 5} more warnings`);
  return lines.join('\n');
}

/** The most telling line of a failure message: the last line of a Python traceback, else the first line. */
export function headline(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const line = message.includes('Traceback (most recent call last)')
    ? (lines
        .filter(
          (l) => !l.startsWith('at ') && !l.startsWith('File ') && /^[A-Za-z_.]+(Error|Exception)\b/.test(l),
        )
        .pop() ?? lines[0])
    : lines[0];
  return line && line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

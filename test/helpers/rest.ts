/**
 * A tiny reading of History Server REST paths over sparkpilot's models, so tests can ask the same question
 * of sparkpilot as Spark's golden files ask of the History Server.
 */
import type { ApplicationAttemptModel, ApplicationInfo, StageData } from '../../src/index.js';
import { DEFAULT_QUANTILES, executorMetricsDistributions, selectQuantiles } from '../../src/index.js';

export class NotReproduced extends Error {}

function appsById(models: ApplicationAttemptModel[]): Map<string, ApplicationAttemptModel[]> {
  const m = new Map<string, ApplicationAttemptModel[]>();
  for (const a of models) m.set(a.appId, [...(m.get(a.appId) ?? []), a]);
  return m;
}

export function applicationInfo(attempts: ApplicationAttemptModel[]): ApplicationInfo {
  const sorted = [...attempts].sort((a, b) => {
    // Newest first, as the History Server lists them.
    const x = a.application.attempts[0]!;
    const y = b.application.attempts[0]!;
    return y.startTimeEpoch - x.startTimeEpoch || (b.attemptId ?? '').localeCompare(a.attemptId ?? '');
  });
  return {
    id: sorted[0]!.appId,
    name: sorted[0]!.application.name,
    attempts: sorted.map((a) => a.application.attempts[0]!),
  };
}

function stageOut(s: StageData, details: boolean, withSummaries: boolean): Record<string, unknown> {
  const { taskMetricsDistributions, executorSummary, ...rest } = s;
  const out: Record<string, unknown> = { ...rest };
  if (details) out.executorSummary = executorSummary;
  const executorDistributions = withSummaries ? executorMetricsDistributions(s) : undefined;
  if (executorDistributions) out.executorMetricsDistributions = executorDistributions;
  if (withSummaries && taskMetricsDistributions)
    out.taskMetricsDistributions = selectQuantiles(taskMetricsDistributions, [0, 0.25, 0.5, 0.75, 1]);
  return out;
}

/** Answer `applications/...` for the given models. */
export function rest(models: ApplicationAttemptModel[], url: string): unknown {
  const [path, query = ''] = url.split('?');
  const q = new URLSearchParams(query);
  const parts = path!.replace(/\/$/, '').split('/');
  if (parts[0] !== 'applications') throw new NotReproduced(url);
  const byId = appsById(models);
  if (parts.length === 1) {
    // ApplicationListResource: status, minDate/maxDate (start), minEndDate/maxEndDate, limit.
    const date = (k: string, d: number) => (q.has(k) ? Date.parse(q.get(k)!.replace(/GMT$/, 'Z')) : d);
    const [minDate, maxDate] = [date('minDate', 0), date('maxDate', Number.MAX_SAFE_INTEGER)];
    const [minEnd, maxEnd] = [date('minEndDate', 0), date('maxEndDate', Number.MAX_SAFE_INTEGER)];
    const statuses = q.getAll('status');
    const completedOk = statuses.length === 0 || statuses.includes('completed');
    const runningOk = statuses.length === 0 || statuses.includes('running');
    const list = [...byId.values()]
      .map(applicationInfo)
      // The History Server's listing index: the newest attempt's end, descending; then the id, descending.
      .sort(
        (a, b) =>
          b.attempts[0]!.endTimeEpoch - a.attempts[0]!.endTimeEpoch ||
          (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
      )
      .filter((app) => {
        const running = !app.attempts[0]!.completed;
        return (
          ((!running && completedOk) || (running && runningOk)) &&
          app.attempts.some(
            (a) =>
              a.startTimeEpoch >= minDate &&
              a.startTimeEpoch <= maxDate &&
              ((running && maxEnd > Date.now()) ||
                (!running && a.endTimeEpoch >= minEnd && a.endTimeEpoch <= maxEnd)),
          )
        );
      });
    return q.has('limit') ? list.slice(0, Number(q.get('limit'))) : list;
  }
  const attempts = byId.get(parts[1]!);
  if (!attempts) throw new Error(`unknown app: ${parts[1]}`);
  if (parts.length === 2) return applicationInfo(attempts);
  let i = 2;
  let model: ApplicationAttemptModel;
  if (/^\d+$/.test(parts[2]!) && attempts.some((a) => a.attemptId === parts[2])) {
    model = attempts.find((a) => a.attemptId === parts[2])!;
    i = 3;
  } else {
    model =
      attempts.length === 1
        ? attempts[0]!
        : (attempts.find((a) => a.attemptId === undefined) ?? attempts[0]!);
  }
  const rest = parts.slice(i);
  switch (rest[0]) {
    case 'jobs': {
      if (rest.length === 2) return model.jobs.find((j) => j.jobId === Number(rest[1]));
      const statuses = q.getAll('status');
      return model.jobs.filter(
        (j) =>
          statuses.length === 0 || statuses.includes(j.status.toLowerCase()) || statuses.includes(j.status),
      );
    }
    case 'stages': {
      const details = q.get('details') === 'true';
      const withSummaries = q.get('withSummaries') === 'true';
      if (rest.includes('taskList')) throw new NotReproduced(url);
      if (rest.length === 1) {
        const statuses = q.getAll('status').map((s) => s.toUpperCase());
        return model.stages
          .filter((s) => statuses.length === 0 || statuses.includes(s.status))
          .map((s) => stageOut(s, details, withSummaries));
      }
      const stageId = Number(rest[1]);
      const all = model.stages.filter((s) => s.stageId === stageId).sort((a, b) => a.attemptId - b.attemptId);
      if (rest.length === 2) return all.map((s) => stageOut(s, true, withSummaries));
      const stage = all.find((s) => s.attemptId === Number(rest[2]));
      if (!stage) throw new Error(`unknown stage attempt ${url}`);
      if (rest[3] === 'taskSummary') {
        const qs = q.get('quantiles')?.split(',').map(Number) ?? [...DEFAULT_QUANTILES];
        return selectQuantiles(stage.taskMetricsDistributions!, qs);
      }
      if (rest.length > 3) throw new NotReproduced(url);
      return stageOut(stage, true, withSummaries);
    }
    case 'executors':
      // The History Server walks its `active` index backwards: active executors by id, descending.
      return model.executors.filter((e) => e.isActive).reverse();
    case 'allexecutors':
      return model.executors;
    case 'environment':
      return model.environment;
    case 'sql': {
      // Without the plan graph (`details=false`): sparkpilot keeps the plan text only.
      if (q.get('details') !== 'false' || rest.length > 1) throw new NotReproduced(url);
      const offset = Number(q.get('offset') ?? 0);
      const length = Number(q.get('length') ?? 20);
      return model.sql.slice(offset, offset + length).map((s) => ({
        ...s,
        nodes: [],
        edges: [],
      }));
    }
    default:
      throw new NotReproduced(url);
  }
}

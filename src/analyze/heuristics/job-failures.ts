/**
 * `job-failures`: jobs that failed. A failed last job usually means the application failed.
 * @module
 */
import type { Heuristic, Severity } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { distinct, firstLine } from './common.js';

/**
 * Failed jobs.
 *
 * Finding: `job-failures` (`critical` when the last job failed).
 */
export const jobFailuresHeuristic: Heuristic = {
  id: 'job-failures',
  description: 'Failed jobs; critical when the last job of the application failed.',
  evaluate(model, context) {
    const failed = model.jobs.filter((j) => j.status === 'FAILED');
    if (failed.length === 0) return [];
    const last = model.jobs.reduce((a, j) => (j.jobId > a.jobId ? j : a));
    const lastFailed = last.status === 'FAILED';
    let severity: Severity = severityOf(failed.length, context.thresholds.jobFailures.count);
    if (lastFailed) severity = 'critical';
    if (severity === 'none') return [];
    const jobIds = distinct(failed.map((j) => j.jobId));
    const failedStages = model.stages.filter(
      (s) => s.status === 'FAILED' && s.failureReason && s.jobIds.some((id) => jobIds.includes(id)),
    );
    const reason = failedStages.find((s) => !/cancel|shut down/i.test(s.failureReason!)) ?? failedStages[0];
    return [
      {
        id: 'job-failures',
        title: lastFailed ? 'The last job failed' : 'Failed jobs',
        severity,
        summary: `${failed.length} of ${model.jobs.length} job${model.jobs.length === 1 ? '' : 's'} failed${lastFailed ? `, the last one (job ${last.jobId}) among them` : ''}${reason ? `: ${firstLine(reason.failureReason!, 160)}` : ''}.`,
        evidence: {
          metrics: {
            failedJobs: failed.length,
            jobs: model.jobs.length,
            lastJobId: last.jobId,
            lastJobStatus: last.status,
          },
          jobIds,
          stageIds: distinct(failedStages.map((s) => s.stageId)),
        },
        advice: [
          'Start from the first failed job and its failed stage: later failures often follow from it.',
          ...(reason ? [`Its reason: ${firstLine(reason.failureReason!, 300)}`] : []),
        ],
      },
    ];
  },
};

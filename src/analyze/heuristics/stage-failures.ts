/**
 * `stage-failures`: stage attempts that failed, whether a later attempt of the stage succeeded, and why
 * they failed (the first line of each failure reason).
 * @module
 */
import type { Heuristic, Severity } from '../analyzer.js';
import { maxSeverity, severityOf } from '../analyzer.js';
import { distinct, firstLine, stageLabel, stageSucceeded } from './common.js';

/**
 * Failed stage attempts.
 *
 * Finding: `stage-failures`.
 */
export const stageFailuresHeuristic: Heuristic = {
  id: 'stage-failures',
  description: 'Failed stage attempts, whether a retry succeeded, and their failure reasons.',
  evaluate(model, context) {
    const failed = model.stages.filter((s) => s.status === 'FAILED');
    if (failed.length === 0) return [];
    const stageIds = distinct(failed.map((s) => s.stageId));
    const unrecovered = stageIds.filter((id) => !stageSucceeded(model, id));
    let severity: Severity = severityOf(failed.length, context.thresholds.stageFailures.count);
    if (unrecovered.length > 0) severity = maxSeverity(severity, 'moderate');
    if (severity === 'none') return [];
    const reasons = new Map<string, number>();
    for (const s of failed) {
      const r = firstLine(s.failureReason ?? 'no reason recorded', 160);
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const ranked = [...reasons].sort((a, b) => b[1] - a[1]);
    const text = ranked.map(([r]) => r).join('\n');
    const advice: string[] = [];
    if (/failed \d+ times|Task .* failed/i.test(text)) {
      advice.push('Tasks failed until Spark gave up on the stage: see task-failures for the exception.');
    }
    if (/FetchFailed|fetch/i.test(text)) {
      advice.push(
        'Shuffle output went missing and the map stage had to re-run: see fetch-failures and executor-lost.',
      );
    }
    if (/cancel|shut down|killed/i.test(text)) {
      advice.push(
        'Some stages were cancelled because their job failed or the application stopped: they follow from the first failure, not a cause of their own.',
      );
    }
    if (advice.length === 0)
      advice.push('Read the failure reasons of the stages listed: they name the cause.');
    const first = failed.find((s) => s.failureReason) ?? failed[0]!;
    return [
      {
        id: 'stage-failures',
        title: 'Failed stages',
        severity,
        summary: `${failed.length} stage attempt${failed.length === 1 ? '' : 's'} failed${unrecovered.length > 0 ? `, ${unrecovered.length} never succeeded` : ', all succeeded on retry'}; ${stageLabel(first)}: ${firstLine(first.failureReason ?? 'no reason recorded', 160)}.`,
        evidence: {
          metrics: {
            failedStageAttempts: failed.length,
            unrecoveredStages: unrecovered.length,
            topReason: ranked[0]![0],
          },
          stageIds,
          jobIds: distinct(failed.flatMap((s) => s.jobIds)),
        },
        advice,
      },
    ];
  },
};

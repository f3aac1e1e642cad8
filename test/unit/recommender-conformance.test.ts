import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ensembleRecommender,
  eventLogCollector,
  modelRecommender,
  ruleBasedRecommender,
  similarityRecommender,
} from '../../src/index.js';
import { describeRecommenderConformance } from '../../src/testing/index.js';
import { fixture } from '../helpers/data.js';

// Real runs of one workload under several settings (the job's history) and of the others (similar runs).
const manifest = JSON.parse(readFileSync(fixture('workloads/manifest.json'), 'utf8'));
const workload: string = manifest.runs[0].workload;
const all = (await eventLogCollector({ workers: 1 }).collect(fixture('workloads'))).applications;
const newestFirst = (xs: typeof all) =>
  [...xs].sort(
    (a, b) => b.application.attempts[0]!.startTimeEpoch - a.application.attempts[0]!.startTimeEpoch,
  );
const history = newestFirst(all.filter((m) => m.application.name === `sparkpilot-workload-${workload}`));
const others = all.filter((m) => m.application.name !== `sparkpilot-workload-${workload}`).slice(0, 6);

for (const [name, create, worksWithoutHistory] of [
  ['ensemble', () => ensembleRecommender(), true],
  ['rule-based', () => ruleBasedRecommender(), true],
  ['model', () => modelRecommender(), true],
  ['similarity', () => similarityRecommender({ minSimilarity: 0 }), true],
] as const) {
  describeRecommenderConformance(name, {
    test: { describe, it, expect },
    create,
    history,
    others,
    worksWithoutHistory,
  });
}

// One orchestrator process for the multi-process tests: argv = distDir dbUrl clusterDir owner tablePrefix.
// Its submission adapter is a "file cluster" that outlives every orchestrator process, as a Spark cluster
// does: a submission is a file created exclusively under its key, and a run "runs" for its scripted
// duration from the file's submit time. Every submit() call is appended to submits.log, and every event
// of this orchestrator to events-<owner>.log, so the test can count what each process did.

import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [distDir, dbUrl, clusterDir, owner, tablePrefix] = process.argv.slice(2);
const sp = await import(join(distDir, 'index.js'));
mkdirSync(clusterDir, { recursive: true });

const fileOf = (key) =>
  join(clusterDir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
const read = (key) => {
  try {
    return JSON.parse(readFileSync(fileOf(key), 'utf8'));
  } catch {
    return undefined;
  }
};
const DURATION = Number(process.env.JOB_MS ?? 1500);
const cluster = {
  name: 'file-cluster',
  capabilities: { cancel: false, logs: false, sessions: false, findBySubmissionKey: true },
  async submit(request) {
    appendFileSync(join(clusterDir, 'submits.log'), `${owner} ${request.submissionKey}\n`);
    const existing = read(request.submissionKey);
    if (existing) return { submissionId: existing.key, submissionKey: existing.key };
    let fd;
    try {
      fd = openSync(fileOf(request.submissionKey), 'wx');
    } catch {
      const again = read(request.submissionKey);
      return { submissionId: request.submissionKey, submissionKey: again?.key ?? request.submissionKey };
    }
    writeSync(
      fd,
      JSON.stringify({ key: request.submissionKey, name: request.name, submittedAt: Date.now(), by: owner }),
    );
    closeSync(fd);
    appendFileSync(join(clusterDir, 'created.log'), `${owner} ${request.submissionKey}\n`);
    return { submissionId: request.submissionKey, submissionKey: request.submissionKey };
  },
  async status(submissionId) {
    const s = read(submissionId);
    if (!s) throw new sp.SubmissionError('SPARKPILOT_SUBMIT_UNKNOWN_ID', `unknown ${submissionId}`);
    return {
      state: Date.now() - s.submittedAt >= DURATION ? 'SUCCEEDED' : 'RUNNING',
      appId: `app-${s.name}`,
    };
  },
  async findBySubmissionKey(key) {
    const s = read(key);
    return s ? { submissionId: s.key, submissionKey: s.key } : undefined;
  },
};

const res = { executors: 1, coresPerExecutor: 1, executorMemory: '1g' };
const jobs = [];
for (let layer = 0; layer < 4; layer++) {
  for (let i = 0; i < 6; i++) {
    jobs.push({
      name: `l${layer}j${i}`,
      application: { file: 'job.py' },
      resources: res,
      dependsOn: layer === 0 ? [] : [`l${layer - 1}j${i}`, `l${layer - 1}j${(i + 1) % 6}`],
    });
  }
}
const def = sp.definePipeline({ name: 'multi', schedule: 'daily', jobs });
const store = await sp.openStore(dbUrl, { tablePrefix });
const orch = sp.createOrchestrator({
  store,
  adapters: { default: cluster },
  pipelines: [def],
  owner,
  schedule: false,
  leaseMs: Number(process.env.LEASE_MS ?? 3000),
  pollMs: 200,
  statusPollMs: 100,
  concurrency: { global: 4 },
});
const log = (line) => appendFileSync(join(clusterDir, `events-${owner}.log`), `${line}\n`);
for (const e of ['job:submitted', 'job:reattached', 'job:succeeded', 'job:failed']) {
  orch.on(e, (x) => log(`${e} ${x.jobRun.job} ${x.jobRun.try}`));
}
orch.on('error', (err) => log(`error ${err.message.replace(/\n/g, ' ')}`));
if (process.env.TRIGGER === '1') {
  const run = await orch.trigger('multi', {
    start: new Date('2025-06-01T00:00:00Z'),
    end: new Date('2025-06-02T00:00:00Z'),
  });
  console.log(`run ${run.id}`);
}
await orch.start();
console.log('started');
const id = sp.runIdFor('multi', {
  start: new Date('2025-06-01T00:00:00Z'),
  end: new Date('2025-06-02T00:00:00Z'),
});
for (;;) {
  const r = await store.runs.getRun(id);
  if (r && (r.status === 'succeeded' || r.status === 'failed')) {
    console.log(`done ${r.status}`);
    break;
  }
  await new Promise((res2) => setTimeout(res2, 200));
}
await orch.stop();
await store.close();

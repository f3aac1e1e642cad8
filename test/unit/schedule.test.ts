import { describe, expect, it } from 'vitest';
import { definePipeline, PipelineError } from '../../src/orchestrate/pipeline.js';
import {
  type DataInterval,
  intervalEndingAtOrBefore,
  intervalsBetween,
  nextFireTime,
  renderJob,
  renderTemplate,
} from '../../src/orchestrate/schedule.js';

const d = (iso: string) => new Date(iso);
const show = (list: DataInterval[]) =>
  list.map((i) => [i.start.toISOString(), (i.end.getTime() - i.start.getTime()) / 3_600_000]);

describe('intervals in UTC', () => {
  it('hourly', () => {
    expect(
      show(intervalsBetween('hourly', 'UTC', d('2025-01-01T00:30:00Z'), d('2025-01-01T03:00:00Z'))),
    ).toEqual([
      ['2025-01-01T01:00:00.000Z', 1],
      ['2025-01-01T02:00:00.000Z', 1],
    ]);
  });

  it('daily, monthly and the interval that ended last', () => {
    expect(
      show(intervalsBetween('daily', 'UTC', d('2025-01-01T00:00:00Z'), d('2025-01-03T00:00:00Z'))),
    ).toEqual([
      ['2025-01-01T00:00:00.000Z', 24],
      ['2025-01-02T00:00:00.000Z', 24],
    ]);
    expect(
      show(intervalsBetween('monthly', 'UTC', d('2025-01-15T00:00:00Z'), d('2025-04-01T00:00:00Z'))),
    ).toEqual([
      ['2025-02-01T00:00:00.000Z', 672],
      ['2025-03-01T00:00:00.000Z', 744],
    ]);
    expect(intervalEndingAtOrBefore('hourly', 'UTC', d('2025-01-01T10:30:00Z'))).toEqual({
      start: d('2025-01-01T09:00:00Z'),
      end: d('2025-01-01T10:00:00Z'),
    });
    expect(intervalEndingAtOrBefore('daily', 'UTC', d('2025-01-02T00:00:00Z'))).toEqual({
      start: d('2025-01-01T00:00:00Z'),
      end: d('2025-01-02T00:00:00Z'),
    });
    expect(nextFireTime('daily', 'UTC', d('2025-01-02T00:00:00Z'))).toEqual(d('2025-01-03T00:00:00Z'));
    expect(nextFireTime('monthly', 'UTC', d('2025-02-10T00:00:00Z'))).toEqual(d('2025-03-01T00:00:00Z'));
  });

  it('cron: from one fire time to the next', () => {
    const every6h = { cron: '0 */6 * * *' };
    expect(
      show(intervalsBetween(every6h, 'UTC', d('2025-01-01T01:00:00Z'), d('2025-01-02T00:00:00Z'))),
    ).toEqual([
      ['2025-01-01T06:00:00.000Z', 6],
      ['2025-01-01T12:00:00.000Z', 6],
      ['2025-01-01T18:00:00.000Z', 6],
    ]);
    const mondays = { cron: '30 2 * * 1' };
    expect(intervalEndingAtOrBefore(mondays, 'Europe/Paris', d('2025-06-20T00:00:00Z'))).toEqual({
      start: d('2025-06-09T00:30:00Z'),
      end: d('2025-06-16T00:30:00Z'),
    });
    expect(nextFireTime(mondays, 'Europe/Paris', d('2025-06-16T00:30:00Z'))).toEqual(
      d('2025-06-23T00:30:00Z'),
    );
  });
});

describe('intervals across DST changes', () => {
  it('Europe/Paris daily: 23 hours in March, 25 in October', () => {
    expect(
      show(intervalsBetween('daily', 'Europe/Paris', d('2025-03-29T00:00:00Z'), d('2025-04-01T00:00:00Z'))),
    ).toEqual([
      ['2025-03-29T23:00:00.000Z', 23],
      ['2025-03-30T22:00:00.000Z', 24],
    ]);
    expect(
      show(intervalsBetween('daily', 'Europe/Paris', d('2025-10-25T00:00:00Z'), d('2025-10-28T00:00:00Z'))),
    ).toEqual([
      ['2025-10-25T22:00:00.000Z', 25],
      ['2025-10-26T23:00:00.000Z', 24],
    ]);
  });

  it('Europe/Paris hourly: one interval per real hour, 25 on the long day', () => {
    const fallBack = intervalsBetween(
      'hourly',
      'Europe/Paris',
      d('2025-10-25T22:00:00Z'),
      d('2025-10-26T23:00:00Z'),
    );
    expect(fallBack).toHaveLength(25);
    expect(fallBack.every((i) => i.end.getTime() - i.start.getTime() === 3_600_000)).toBe(true);
    const springForward = intervalsBetween(
      'hourly',
      'Europe/Paris',
      d('2025-03-29T23:00:00Z'),
      d('2025-03-30T22:00:00Z'),
    );
    expect(springForward).toHaveLength(23);
  });

  it('America/New_York daily: the spring-forward day is 23 hours', () => {
    expect(
      show(
        intervalsBetween('daily', 'America/New_York', d('2025-03-08T05:00:00Z'), d('2025-03-11T04:00:00Z')),
      ),
    ).toEqual([
      ['2025-03-08T05:00:00.000Z', 24],
      ['2025-03-09T05:00:00.000Z', 23],
      ['2025-03-10T04:00:00.000Z', 24],
    ]);
    expect(intervalEndingAtOrBefore('daily', 'America/New_York', d('2025-03-10T12:00:00Z'))).toEqual({
      start: d('2025-03-09T05:00:00Z'),
      end: d('2025-03-10T04:00:00Z'),
    });
  });

  it('America/New_York monthly follows local month starts', () => {
    expect(
      show(
        intervalsBetween('monthly', 'America/New_York', d('2025-02-01T00:00:00Z'), d('2025-04-01T04:00:00Z')),
      ),
    ).toEqual([
      ['2025-02-01T05:00:00.000Z', 672],
      ['2025-03-01T05:00:00.000Z', 743],
    ]);
  });

  it('a zone with a 45-minute offset: hours start at :15 UTC', () => {
    expect(
      show(
        intervalsBetween('hourly', 'Asia/Kathmandu', d('2025-01-01T00:00:00Z'), d('2025-01-01T03:00:00Z')),
      ),
    ).toEqual([
      ['2025-01-01T00:15:00.000Z', 1],
      ['2025-01-01T01:15:00.000Z', 1],
    ]);
  });
});

describe('schedule errors', () => {
  it('names the expression or the zone', () => {
    try {
      intervalsBetween({ cron: 'every day' }, 'UTC', d('2025-01-01'), d('2025-01-02'), { pipeline: 'p' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as PipelineError).code).toBe('SPARKPILOT_PIPELINE_SCHEDULE');
      expect((err as PipelineError).message).toMatch(/^\[sparkpilot\] \[pipeline p\] cron "every day"/);
    }
    expect(() => nextFireTime('daily', 'Nowhere/City', d('2025-01-01'))).toThrow('time zone "Nowhere/City"');
  });
});

describe('templates', () => {
  const vars = {
    pipeline: 'nightly',
    timezone: 'Europe/Paris',
    interval: { start: d('2025-03-29T23:00:00Z'), end: d('2025-03-30T22:00:00Z') },
    run: { id: 'run-42' },
  };

  it('renders every variable', () => {
    expect(
      renderTemplate('{{ pipeline }}/{{ds}}/{{ run.id }} {{ interval.start }}..{{  interval.end  }}', vars),
    ).toBe('nightly/2025-03-30/run-42 2025-03-29T23:00:00.000Z..2025-03-30T22:00:00.000Z');
    expect(renderTemplate('{{ ds }}', { ...vars, timezone: undefined })).toBe('2025-03-29');
    expect(renderTemplate('no templates', vars)).toBe('no templates');
  });

  it('an unknown variable is an error naming it', () => {
    expect(() => renderTemplate('dt={{ date }}', vars)).toThrow(/unknown template variable "date"/);
    try {
      renderTemplate('{{ run.start }}', vars);
    } catch (err) {
      expect((err as PipelineError).code).toBe('SPARKPILOT_PIPELINE_TEMPLATE');
      expect((err as PipelineError).message.startsWith('[sparkpilot] [pipeline nightly]')).toBe(true);
    }
  });

  it('renderJob renders args and properties and names the place of an error', () => {
    const def = definePipeline({
      name: 'nightly',
      schedule: 'daily',
      timezone: 'Europe/Paris',
      jobs: [
        {
          name: 'ingest',
          application: { file: 'ingest.py' },
          args: ['--day', '{{ ds }}'],
          properties: { 'spark.app.name': '{{ pipeline }}-{{ run.id }}' },
          resources: { executors: 1, coresPerExecutor: 1, executorMemory: '1g' },
        },
      ],
    });
    const job = renderJob(def.jobs[0]!, vars);
    expect(job.args).toEqual(['--day', '2025-03-30']);
    expect(job.properties).toEqual({ 'spark.app.name': 'nightly-run-42' });
    expect(def.jobs[0]!.args).toEqual(['--day', '{{ ds }}']);
    expect(() => renderJob({ ...def.jobs[0]!, args: ['{{ oops }}'] }, vars)).toThrow(
      '[sparkpilot] [pipeline nightly] job "ingest" args[0]: unknown template variable "oops"',
    );
  });
});

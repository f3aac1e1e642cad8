import { describe, expect, it } from 'vitest';
import { eventLogCollector } from '../../src/index.js';
import { sharedData } from '../helpers/data.js';

describe('the event-log collector feeding a consumer (onApplication)', () => {
  it('calls the consumer one model at a time, each model once', async () => {
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    const r = await eventLogCollector({ workers: 1 }).collect(sharedData('spark-events'), {
      keepResults: false,
      onApplication: async (m) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        seen.push(`${m.appId}/${m.attemptId ?? ''}`);
        running--;
      },
    });
    expect(r.applications).toEqual([]);
    expect(most).toBe(1);
    expect(seen).toHaveLength(18);
    expect(new Set(seen).size).toBe(18);
  });

  it("stops at the consumer's first error, throws it, and calls the consumer no more", async () => {
    const boom = new Error('database gone');
    let calls = 0;
    const err = await eventLogCollector({ workers: 1 })
      .collect(sharedData('spark-events'), {
        onApplication: async () => {
          calls++;
          if (calls === 3) throw boom;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(calls).toBe(3);
  });

  it('gives the same models with the calling thread kept free', async () => {
    const here = await eventLogCollector({ workers: 2 }).collect(sharedData('spark-events'));
    const free = await eventLogCollector({ workers: 2 }).collect(sharedData('spark-events'), {
      callingThread: false,
    });
    expect(free.applications).toHaveLength(18);
    expect(JSON.stringify(free.applications)).toBe(JSON.stringify(here.applications));
  });
});

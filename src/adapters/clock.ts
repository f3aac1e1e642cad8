/**
 * Clocks for adapters that simulate time: the real one, and {@link ManualClock} for tests that move time by
 * hand.
 * @module
 */

/** The timer functions an adapter that simulates time uses. */
export interface Clock {
  /** Milliseconds since the epoch (or since the clock started, for a manual clock). */
  now(): number;
  /** Call `fn` once, `ms` from now; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer; unknown or already fired handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `Date.now` and the global timers. Its timers are unref'd, so a simulated run never keeps
 * the process alive.
 */
export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to, for deterministic tests. Timers fire in time order (and in the order
 * they were set when due at the same time), synchronously, inside {@link ManualClock.advance} or
 * {@link ManualClock.runAll}; a timer set by a firing timer fires in the same call when it falls due.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const adapter = inMemoryAdapter({ clock, default: { durationMs: 60_000 } });
 * const { submissionId } = await adapter.submit(request);
 * clock.advance(60_000);
 * expect((await adapter.status(submissionId)).state).toBe('SUCCEEDED');
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];

  /** @param start - the time `now()` returns before any advance (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The clock's current time, ms. */
  now(): number {
    return this.#now;
  }

  /** Schedule `fn` at `now() + ms` (negative or NaN delays count as 0). Returns a numeric handle. */
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.push({ id, at: this.#now + delay, fn });
    return id;
  }

  /** Cancel a timer set by {@link ManualClock.setTimeout}; unknown handles are ignored. */
  clearTimeout(handle: unknown): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** When the earliest waiting timer is due, or undefined when none waits. */
  nextDueAt(): number | undefined {
    let best: number | undefined;
    for (const t of this.#timers) if (best === undefined || t.at < best) best = t.at;
    return best;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, each with `now()` set to its
   * own due time. Returns how many timers fired.
   */
  advance(ms: number): number {
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`[sparkpilot] [manual-clock] advance(ms) expects a finite ms >= 0, got ${ms}.`);
    }
    const target = this.#now + ms;
    let fired = 0;
    for (let t = this.#takeNext(target); t; t = this.#takeNext(target)) {
      this.#now = t.at;
      fired++;
      t.fn();
    }
    this.#now = target;
    return fired;
  }

  /**
   * Fire every timer, in time order, moving time to each one's due time, until none is left. Throws after
   * `limit` timers (default 100 000), which only a timer that keeps rescheduling itself reaches.
   * Returns how many timers fired.
   */
  runAll(limit = 100_000): number {
    let fired = 0;
    for (let t = this.#takeNext(Number.POSITIVE_INFINITY); t; t = this.#takeNext(Number.POSITIVE_INFINITY)) {
      if (fired >= limit) {
        this.#timers.push(t);
        throw new Error(
          `[sparkpilot] [manual-clock] runAll() fired ${limit} timers and more are due: a timer keeps rescheduling itself. Use advance(ms) instead.`,
        );
      }
      this.#now = Math.max(this.#now, t.at);
      fired++;
      t.fn();
    }
    return fired;
  }

  /** Remove and return the earliest timer due at or before `until` (first set wins a tie). */
  #takeNext(until: number): Timer | undefined {
    let best = -1;
    for (let i = 0; i < this.#timers.length; i++) {
      const t = this.#timers[i]!;
      if (t.at <= until && (best < 0 || t.at < this.#timers[best]!.at)) best = i;
    }
    return best < 0 ? undefined : this.#timers.splice(best, 1)[0];
  }
}

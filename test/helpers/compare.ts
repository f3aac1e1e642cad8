/**
 * Field-by-field comparison of a sparkpilot answer with a History Server answer, for the parity tests.
 */

/** What the History Server left out of an answer that sparkpilot may give anyway (objects it omits when empty). */
const MAY_ADD = new Set([
  'speculationSummary',
  'description',
  'peakMemoryMetrics',
  'peakExecutorMetrics',
  'memoryMetrics',
  'taskMetricsDistributions',
]);

export interface CompareOptions {
  /** Fields not compared wherever they are (with the reason at the call site). */
  ignore: ReadonlySet<string>;
  /** Fields sparkpilot adds that the History Server does not return. */
  added: ReadonlySet<string>;
}

/**
 * Push into `diffs` every difference of `actual` from `expected` (at most about 20): a value that differs,
 * a field missing, an array of another length, and a field the History Server does not return (unless
 * `added`, empty, or one it omits when empty).
 */
export function compareRest(
  actual: unknown,
  expected: unknown,
  path: string,
  diffs: string[],
  options: CompareOptions,
): void {
  if (diffs.length > 20) return;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      diffs.push(
        `${path}: expected array of ${expected.length}, got ${Array.isArray(actual) ? actual.length : JSON.stringify(actual)?.slice(0, 200)}`,
      );
      return;
    }
    for (const [i, e] of expected.entries()) compareRest(actual[i], e, `${path}[${i}]`, diffs, options);
    return;
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') {
      diffs.push(`${path}: expected object, got ${JSON.stringify(actual)}`);
      return;
    }
    const a = actual as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) {
      if (options.ignore.has(k)) continue;
      if (!(k in a)) {
        diffs.push(`${path}.${k}: missing (expected ${JSON.stringify(v)?.slice(0, 100)})`);
        continue;
      }
      compareRest(a[k], v, `${path}.${k}`, diffs, options);
    }
    for (const k of Object.keys(a)) {
      if (k in (expected as object) || options.ignore.has(k) || options.added.has(k) || MAY_ADD.has(k))
        continue;
      if (a[k] === undefined || (Array.isArray(a[k]) && (a[k] as unknown[]).length === 0)) continue;
      diffs.push(
        `${path}.${k}: not in the History Server's answer (got ${JSON.stringify(a[k])?.slice(0, 100)})`,
      );
    }
    return;
  }
  if (actual !== expected)
    diffs.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/**
 * JSON helpers for event lines: a parse that keeps integers beyond 2^53 exact (as strings), used only on the
 * rare lines that carry such numbers (Databricks' `SparkContext Id`).
 * @module
 */

const LONG_INT = /[:[,]\s*-?\d{16,}\s*[,}\]]/;

/** Whether a line may hold an integer that `JSON.parse` would round. */
export function mayHoldUnsafeInteger(text: string): boolean {
  return LONG_INT.test(text);
}

/**
 * `JSON.parse`, except that integers outside ±2^53 are returned as decimal strings so no digit is lost.
 */
export function parseLossless(text: string): unknown {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) j++;
        else break;
      }
      const token = text.slice(i, j);
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(last, i)}"${token}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  return JSON.parse(last === 0 ? text : out + text.slice(last));
}

import { describe, expect, it } from 'vitest';
import { prefixSuccessor } from '../../src/store/knex/application-repository.js';

const cmp = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

describe('the upper bound of a name-prefix range', () => {
  it('is above every string with the prefix and below the next strings, in code-point order', () => {
    for (const p of ['abc', 'Spark shell', 'a\u{10FFFF}', 'x\u{D7FF}', '日本', '🔥', "'; DROP"]) {
      const up = prefixSuccessor(p)!;
      for (const tail of ['', 'a', '\u{10FFFF}\u{10FFFF}', '\u{FFFF}', '🔥']) {
        expect(cmp(p + tail, up)).toBeLessThan(0);
      }
      expect(cmp(p, up)).toBeLessThan(0);
    }
    expect(prefixSuccessor('abc')).toBe('abd');
    expect(prefixSuccessor('a\u{10FFFF}')).toBe('b');
    expect(prefixSuccessor('x\u{D7FF}')).toBe('x\u{E000}');
    expect(prefixSuccessor('\u{10FFFF}')).toBeUndefined();
    expect(prefixSuccessor('')).toBeUndefined();
  });
});

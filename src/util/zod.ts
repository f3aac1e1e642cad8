import type { z } from 'zod';

/** Formats zod issues as `key.path: message (got value)` items joined by `; `. */
export function formatZodIssues(error: z.ZodError, input?: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : '(root)';
      let got = '';
      if (input !== undefined) {
        let v: unknown = input;
        for (const p of issue.path)
          v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
        if (v !== undefined) got = ` (got ${JSON.stringify(v)})`;
      }
      return `${path}: ${issue.message}${got}`;
    })
    .join('; ');
}

/**
 * Telling a unique-key violation apart from other write errors, on every dialect.
 * @module
 * @internal
 */

/** A unique violation on `table`: another writer inserted the same key first. */
export function isUniqueViolation(err: unknown, table: string): boolean {
  const e = err as { code?: string; errno?: number; message?: string; table?: string };
  const message = e?.message ?? '';
  const unique =
    e?.code === '23505' ||
    e?.code === 'ER_DUP_ENTRY' ||
    e?.errno === 1062 ||
    (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(message));
  return unique && (e.table === table || message.includes(table));
}

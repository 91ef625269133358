import { badRequest } from './problem.js'

// Cursors are opaque to clients: base64url of a JSON array of the last row's sort keys.

export function encodeCursor(keys: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(keys)).toString('base64url')
}

export function decodeCursor(cursor: string, shape: readonly ('number' | 'string')[]): (string | number)[] {
  try {
    const keys: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(keys) && keys.length === shape.length && keys.every((key, i) => typeof key === shape[i])) {
      return keys as (string | number)[]
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('cursor is not a cursor this service issued', '/cursor')
}

/** Decodes a cursor made of a single integer id (the common case: lists ordered by id desc). */
export function decodeIdCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  return decodeCursor(cursor, ['number'])[0] as number
}

/** Given limit+1 rows, returns the page and the cursor for the next one. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorKeys: (row: Row) => (string | number)[],
): { data: Item[]; next_cursor: string | null } {
  const hasMore = rows.length > limit
  const pageRows = hasMore ? rows.slice(0, limit) : rows
  const last = pageRows[pageRows.length - 1]
  return {
    data: pageRows.map(toItem),
    next_cursor: hasMore && last !== undefined ? encodeCursor(cursorKeys(last)) : null,
  }
}

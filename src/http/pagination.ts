import { encodeCursor } from '../db/cursor.js'

/** Given limit+1 rows, returns the page and the cursor for the next one. */
export function toPage<Row, Item> (
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorKeys: (row: Row) => (string | number)[]
): { data: Item[]; next_cursor: string | null } {
  const hasMore = rows.length > limit
  const pageRows = hasMore ? rows.slice(0, limit) : rows
  const last = pageRows[pageRows.length - 1]
  return {
    data: pageRows.map(toItem),
    next_cursor: hasMore && last !== undefined ? encodeCursor(cursorKeys(last)) : null,
  }
}

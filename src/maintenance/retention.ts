import { sql } from 'kysely'
import type { Db } from '../db/database.js'

// LOG_RETENTION_DAYS (§6): the advertiser-postback log and finished deliveries (with their attempts, which
// go with them by foreign key) are dropped in bounded batches, each its own short statement, so no long
// DELETE holds locks or an old snapshot. Pending deliveries are never dropped, however old.
// Both tables grow by an identity id in time order, so the rows older than the cutoff are a prefix of the
// id order: a batch takes the oldest ids by the primary key and deletes those older than the cutoff; a batch
// that meets a newer row has reached the end of what is old. No index on the time is needed.

/** Rows one statement looks at: locks held for milliseconds, and still thousands of rows a second. */
export const RETENTION_BATCH = 2_000

export interface RetentionBatch {
  deleted: number
  /** Whether older rows may remain: the batch was all old. */
  more: boolean
}

async function dropOldestBatch (db: Db, table: 'server_postbacks' | 'postback_deliveries', time: string, cutoff: Date): Promise<RetentionBatch> {
  const finished = table === 'postback_deliveries' ? sql`where state <> 'pending'` : sql``
  const { rows } = await sql<{ deleted: string; newer: string }>`
    with batch as (
      select id, ${sql.ref(time)} as at from ${sql.table(table)} ${finished} order by id limit ${RETENTION_BATCH}),
    gone as (
      delete from ${sql.table(table)} where id in (select id from batch where at < ${cutoff}) returning 1)
    select (select count(*) from gone) as deleted, (select count(*) from batch where at >= ${cutoff}) as newer`.execute(db)
  const deleted = Number(rows[0]?.deleted ?? 0)
  return { deleted, more: deleted === RETENTION_BATCH && Number(rows[0]?.newer ?? 0) === 0 }
}

/** One batch of the advertiser-postback log older than `cutoff`. */
export function dropOldServerPostbacks (db: Db, cutoff: Date): Promise<RetentionBatch> {
  return dropOldestBatch(db, 'server_postbacks', 'received_at', cutoff)
}

/** One batch of finished deliveries created before `cutoff`, with their attempts. */
export function dropOldDeliveries (db: Db, cutoff: Date): Promise<RetentionBatch> {
  return dropOldestBatch(db, 'postback_deliveries', 'created_at', cutoff)
}

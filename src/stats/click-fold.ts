import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { startOfQuarter } from '../domain/time-periods.js'

// The 15-minute tier of clicks is filled by a fold, not by the click batches: a batch of 500 clicks spread over
// thousands of (offer, affiliate) pairs would upsert nearly as many cells as it holds clicks, most of them cells
// other batches write too. Folding every few seconds groups thousands of clicks in one statement instead, and
// reports count the seconds since the fold from the clicks themselves (a range of the clicks' time index).

const iso = (ms: number) => new Date(ms).toISOString()

/** How far behind `now` the fold stops: a click is written within a second or two of its time. */
export const CLICK_FOLD_GRACE_MS = 5_000
/**
 * One fold transaction adds at most this much traffic time, so catching up after a pause (thousands of clicks a
 * second for hours) holds click writes for a moment per step, not for the whole backlog.
 */
const CLICK_FOLD_STEP_MS = 5 * 60_000

/** Where the 15-minute tier's clicks end: clicks created before it are counted there, later ones are not. */
export async function clicksFoldedUntil (db: Db): Promise<number> {
  const row = await db.selectFrom('stats_click_fold').select('folded_until').executeTakeFirstOrThrow()
  return row.folded_until.getTime()
}

/** `foldClicksUntil` a moment (CLICK_FOLD_GRACE_MS) before `now`. */
export function foldClicks (db: Db, now: Date): Promise<number> {
  return foldClicksUntil(db, now.getTime() - CLICK_FOLD_GRACE_MS)
}

/**
 * Adds the clicks created from `stats_click_fold.folded_until` to `target` to the 15-minute tier and moves
 * `folded_until` on. Each step holds the fold's row (instances folding at once take turns) and locks clicks
 * against writes: a batch in flight commits first and is folded; a batch written after the step sees the new
 * `folded_until`, and its trigger counts any of its clicks created before it. So every click is counted exactly
 * once, by the fold or by the trigger. Returns how many steps moved the fold.
 */
export async function foldClicksUntil (db: Db, target: number): Promise<number> {
  let steps = 0
  for (;;) {
    const moved = await db.transaction().execute(async (trx) => {
      const fold = await sql<{ folded_until: Date }>`select folded_until from stats_click_fold for update`.execute(trx)
      const from = fold.rows[0]?.folded_until.getTime() ?? target
      if (from >= target) return false
      await sql`lock table clicks in share mode`.execute(trx)
      // Skip what holds nothing: a new database's fold starts at 1970, a quiet night has no clicks.
      const first = await sql<{ at: Date | null }>`select min(created_at) as at from clicks where created_at >= ${iso(from)}::timestamptz`.execute(trx)
      const firstAt = first.rows[0]?.at?.getTime() ?? target
      const until = Math.min(target, Math.max(from, firstAt) + CLICK_FOLD_STEP_MS)
      // A merge, not an upsert: with clicks locked the fold is the only writer of stats_clicks (the triggers write
      // there only from click batches), so no insert can race it, and a merge adds cells at half an upsert's cost.
      // The cells matched are those of the step's buckets, read by the key's range.
      await sql`merge into stats_clicks s
        using (select date_bin('15 minutes', created_at, timestamptz '2000-01-01 00:00:00+00') as bucket, offer_id, affiliate_id, count(*) as clicks
          from clicks where created_at >= ${iso(from)}::timestamptz and created_at < ${iso(until)}::timestamptz
          group by 1, 2, 3) c
        on s.bucket >= ${iso(startOfQuarter(from))}::timestamptz and s.bucket < ${iso(until)}::timestamptz
          and s.bucket = c.bucket and s.offer_id = c.offer_id and s.affiliate_id = c.affiliate_id
        when matched then update set clicks = s.clicks + c.clicks
        when not matched then insert (bucket, offer_id, affiliate_id, clicks) values (c.bucket, c.offer_id, c.affiliate_id, c.clicks)`.execute(trx)
      await sql`update stats_click_fold set folded_until = ${iso(until)}::timestamptz`.execute(trx)
      return true
    })
    if (!moved) return steps
    steps++
  }
}

import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { clicksFoldedUntil } from '../stats/click-fold.js'

// Clicks live in one partition per calendar month (UTC) of their time (migrations: `clicks`). Partitions are
// made ahead of need by maintenance, and on demand by the click writer for a month it has not seen made, so
// a click never fails for want of one (a clock that jumps, a first start). Making them is serialised across
// instances by a transaction-scoped advisory lock, so two instances never race on the same CREATE.

/** The advisory lock key under which partitions are made and dropped (any fixed number; this one spells "clkp"). */
const PARTITION_LOCK = 0x636c6b70

/** Waiting longer for the table lock than this gives up; the next run tries again. */
const LOCK_TIMEOUT = '5s'

/** A month of clicks: its partition's name and the instants it holds, `from` inclusive, `to` exclusive. */
export interface ClickMonth {
  name: string
  from: Date
  to: Date
}

/** The month whose partition holds a click made at `at`. */
export function clickMonth (at: Date): ClickMonth {
  const year = at.getUTCFullYear()
  const month = at.getUTCMonth()
  return {
    name: `clicks_p${String(year).padStart(4, '0')}_${String(month + 1).padStart(2, '0')}`,
    from: new Date(Date.UTC(year, month, 1)),
    to: new Date(Date.UTC(year, month + 1, 1)),
  }
}

/** Every month from the one holding `from` to the one holding `to`, both included. */
export function clickMonthsBetween (from: Date, to: Date): ClickMonth[] {
  const months: ClickMonth[] = []
  for (let month = clickMonth(from); month.from <= to; month = clickMonth(month.to)) months.push(month)
  return months
}

/** The partitions of `clicks` that exist, oldest first, read from their names. */
export async function existingClickMonths (db: Db): Promise<ClickMonth[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'clicks'::regclass`.execute(db)
  return rows
    .map((row) => /^clicks_p(\d{4})_(\d{2})$/.exec(row.name))
    .filter((match) => match !== null)
    .map((match) => clickMonth(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1))))
    .sort((a, b) => a.from.getTime() - b.from.getTime())
}

/** Makes the partitions of these months that do not exist yet; returns the names it made. */
export async function makeClickPartitions (db: Db, months: readonly ClickMonth[]): Promise<string[]> {
  if (months.length === 0) return []
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('lock_timeout', ${LOCK_TIMEOUT}, true)`.execute(trx)
    await sql`select pg_advisory_xact_lock(${PARTITION_LOCK})`.execute(trx)
    const existing = new Set((await existingClickMonths(trx)).map((month) => month.name))
    const made: string[] = []
    for (const month of months) {
      if (existing.has(month.name)) continue
      await sql`create table ${sql.id(month.name)} partition of clicks
        for values from (${sql.lit(month.from.toISOString())}) to (${sql.lit(month.to.toISOString())})`.execute(trx)
      made.push(month.name)
    }
    return made
  })
}

/** How far the statistics' click fold must be past a month before it is dropped (see retireClickPartitionsBefore). */
const RAW_READ_MARGIN_MS = 3_600_000

/** A month detached from `clicks` for retention and not dropped yet (a crash between the two leaves one). */
const RETIRED_PREFIX = 'clicks_retired_'

/**
 * Drops the partitions whose every click is older than `cutoff` (a month goes once its last instant is past
 * it) and counted by the statistics' 15-minute tier: whole tables, so a month of clicks goes in one catalog
 * change however many rows it holds. Conversions copied what they need from their click, so nothing else
 * changes. Returns the names dropped.
 *
 * Two steps, so that `clicks` is locked only for catalog changes: detaching (and renaming) the old months takes
 * `clicks`' exclusive lock for milliseconds; dropping the detached tables afterwards, which removes their files
 * (over a second for a month of millions of clicks), locks only those tables, which nothing reads any more.
 * A month detached but not dropped (a crash between the steps) is dropped by the next run.
 */
export async function dropClickPartitionsBefore (db: Db, cutoff: Date): Promise<string[]> {
  const retired = await retireClickPartitionsBefore(db, cutoff)
  await dropRetiredClickPartitions(db)
  return retired
}

/** Detaches the months older than `cutoff` from `clicks` and renames them retired; returns their former names. */
export async function retireClickPartitionsBefore (db: Db, cutoff: Date): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('lock_timeout', ${LOCK_TIMEOUT}, true)`.execute(trx)
    await sql`select pg_advisory_xact_lock(${PARTITION_LOCK})`.execute(trx)
    // Its clicks keep counting in the periods they were counted in (stats/click-fold.ts). A report reads the
    // clicks after the fold raw, in a snapshot that may predate the fold's last step: a month goes once the fold
    // is a while past it, so no report still running can need it.
    const counted = Math.min(cutoff.getTime(), await clicksFoldedUntil(trx) - RAW_READ_MARGIN_MS)
    const old = (await existingClickMonths(trx)).filter((month) => month.to.getTime() <= counted)
    for (const month of old) {
      await sql`alter table clicks detach partition ${sql.id(month.name)}`.execute(trx)
      await sql`alter table ${sql.id(month.name)} rename to ${sql.id(RETIRED_PREFIX + month.name)}`.execute(trx)
    }
    return old.map((month) => month.name)
  })
}

/** Drops every retired month, each in its own statement. */
export async function dropRetiredClickPartitions (db: Db): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select relname as name from pg_class
    where relkind = 'r' and relnamespace = current_schema()::regnamespace and starts_with(relname, ${RETIRED_PREFIX})`.execute(db)
  for (const { name } of rows) await sql`drop table if exists ${sql.id(name)}`.execute(db)
}

/** "no partition of relation clicks found for row": a partition went away or was never made. */
function isMissingPartition (err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  return code === '23514' && typeof message === 'string' && message.includes('no partition')
}

/**
 * What the click writer knows of the partitions: the months it has seen made. A batch of a month it has not
 * seen makes that month's partition first; a write that still finds none (another instance's retention,
 * a clock far off) makes it and tries once more.
 */
export class ClickPartitionCover {
  readonly #db: Db
  readonly #made = new Set<string>()

  constructor (db: Db) {
    this.#db = db
  }

  /** Runs `write` once every month of `times` has its partition. */
  async write<T> (times: readonly Date[], write: () => Promise<T>): Promise<T> {
    await this.#cover(times)
    try {
      return await write()
    } catch (err) {
      if (!isMissingPartition(err)) throw err
      this.#made.clear()
      await this.#cover(times)
      return write()
    }
  }

  async #cover (times: readonly Date[]): Promise<void> {
    const wanted = new Map<string, ClickMonth>()
    for (const at of times) {
      const month = clickMonth(at)
      if (!this.#made.has(month.name)) wanted.set(month.name, month)
    }
    if (wanted.size === 0) return
    await makeClickPartitions(this.#db, [...wanted.values()])
    for (const name of wanted.keys()) this.#made.add(name)
  }
}

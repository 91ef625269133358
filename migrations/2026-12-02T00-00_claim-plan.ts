import { sql, type Kysely } from 'kysely'

// The dispatcher's claim, as a function so that its plan is pinned. A burst of deliveries (a backlog after
// an outage, a flood of conversions) arrives faster than autovacuum re-analyzes the table; with statistics
// that predate the burst, the planner believes a handful of rows are due and reads *every* pending row
// through a bitmap scan, then sorts them (spilling to disk) to keep the first hundred: ~70 ms per claim at
// 60,000 pending instead of ~0.5 ms. Without bitmap scans and sorts, the only plan left walks the
// `postback_deliveries_due` index in order and stops after `lim` rows, whatever the statistics say.
//
// The caller turns synchronous_commit off for its transaction (set_config in the same statement), as for
// the dispatcher's other writes; this function is only the claim.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
    returns table (id bigint, method text, url text, body text, attempts int, previous_holder text)
    language sql volatile
    set enable_bitmapscan = off
    set enable_sort = off
    as $$
      update postback_deliveries d
      set locked_until = now() + lease_ms * interval '1 millisecond', locked_by = holder
      from (
        select p.id, p.locked_by as previous_holder from postback_deliveries p
        where p.state = 'pending' and p.next_attempt_at <= now()
          and (p.locked_until is null or p.locked_until < now())
          and (p.attempts > 0) = retry_lane
          and lower(split_part(p.url, '/', 3)) <> all (skip_origins)
        order by p.next_attempt_at, p.id
        limit lim
        for update skip locked
      ) due
      where d.id = due.id
      returning d.id, d.method, d.url, d.body, d.attempts, due.previous_holder
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists claim_postback_deliveries(text, int, int, boolean, text[])`.execute(db)
}

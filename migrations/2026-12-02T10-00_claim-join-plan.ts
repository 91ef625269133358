import { sql, type Kysely } from 'kysely'

// The claim function's second pinned plan: how the claimed rows are joined back for the update.
//
// Inside a function `limit lim` is a parameter, so the planner guesses the subquery returns a tenth of the
// due rows (1,427 rows at 30,000 pending when it returned 30) and joins them back by hashing a sequential
// scan of the *whole* table: delivered history included, so every claim cost grew with the table's age
// (~4 ms at 30,000 rows against ~1 ms for the same statement with a literal limit; seconds with millions
// of delivered rows). Without sequential scans, hash and merge joins, each claimed row is found again
// through the primary key. The origin filter is skipped outright when no origin is being skipped, which
// is nearly always: it lower-cased every scanned URL.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
    returns table (id bigint, method text, url text, body text, attempts int, previous_holder text)
    language sql volatile
    set enable_bitmapscan = off
    set enable_sort = off
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    as $$
      update postback_deliveries d
      set locked_until = now() + lease_ms * interval '1 millisecond', locked_by = holder
      from (
        select p.id, p.locked_by as previous_holder from postback_deliveries p
        where p.state = 'pending' and p.next_attempt_at <= now()
          and (p.locked_until is null or p.locked_until < now())
          and (p.attempts > 0) = retry_lane
          and (cardinality(skip_origins) = 0 or lower(split_part(p.url, '/', 3)) <> all (skip_origins))
        order by p.next_attempt_at, p.id
        limit lim
        for update skip locked
      ) due
      where d.id = due.id
      returning d.id, d.method, d.url, d.body, d.attempts, due.previous_holder
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
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

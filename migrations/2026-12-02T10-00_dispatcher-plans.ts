import { sql, type Kysely } from 'kysely'
// Down goes back to the claim as the previous migration wrote it.
import { up as createPreviousClaim } from './2026-12-02T00-00_claim-plan.js'

// The dispatcher's two statements, as functions with pinned plans: the claim and the record of attempts.
//
// The claim's second pinned plan: how the claimed rows are joined back for the update.
//
// Inside a function `limit lim` is a parameter, so the planner guesses the subquery returns a tenth of the
// due rows (1,427 rows at 30,000 pending when it returned 30) and joins them back by hashing a sequential
// scan of the *whole* table: delivered history included, so every claim cost grew with the table's age
// (~4 ms at 30,000 rows against ~1 ms for the same statement with a literal limit; seconds with millions
// of delivered rows). Without sequential scans, hash and merge joins, each claimed row is found again
// through the primary key. The origin filter is skipped outright when no origin is being skipped, which
// is nearly always: it lower-cased every scanned URL.
//
// And PL/pgSQL rather than SQL: a SQL function's body is parsed and planned on every call, a PL/pgSQL
// statement's plan is kept for the session, and the claim runs hundreds of times a second.
//
// The record (attempts written, decisions applied, leases released, for a batch of attempts) moves into a
// function for the same two reasons. Planning it cost the server about as much as running it; but a plan
// kept across calls must not depend on the table's size, and with a few hundred rows in the table the
// planner rightly hashes a sequential scan instead of looking rows up by key, a plan that, kept, then read
// a whole backlog of 30,000 rows for every batch. Pinned, it finds each row through the primary key.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
    returns table (id bigint, method text, url text, body text, attempts int, previous_holder text)
    language plpgsql volatile
    set enable_bitmapscan = off
    set enable_sort = off
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    as $$
    begin
      return query
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
      returning d.id, d.method, d.url, d.body, d.attempts, due.previous_holder;
    end
    $$`.execute(db)

  await sql`
    create function record_postback_attempts(
      ids bigint[], holders text[], ats timestamptz[], http_codes int[], durations_ms int[], bodies text[], errors text[],
      states text[], retry_delays_ms int[], keep_cancelled_flags boolean[])
    returns table (id bigint, n int)
    language plpgsql volatile
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    as $$
    begin
      return query
      with input as (
        select * from unnest(ids, holders, ats, http_codes, durations_ms, bodies, errors, states, retry_delays_ms, keep_cancelled_flags)
          as i(id, holder, at, http_code, duration_ms, response_body, error, state, retry_ms, keep_cancelled)),
      updated as (
        update postback_deliveries d set
          attempts = d.attempts + 1, last_http_code = i.http_code, last_error = i.error,
          state = case when i.keep_cancelled and d.state = 'cancelled' then 'cancelled' else i.state end,
          next_attempt_at = case when i.state = 'pending' and not (i.keep_cancelled and d.state = 'cancelled')
            then now() + i.retry_ms * interval '1 millisecond' end,
          delivered_at = case when i.state = 'delivered' then coalesce(d.delivered_at, now()) else d.delivered_at end,
          locked_until = null, locked_by = null, updated_at = now()
        from input i
        where d.id = i.id and d.locked_by = i.holder
        -- The attempt's own fields come back with the row: joining input again, without hash joins, would
        -- compare every pair.
        returning d.id, d.attempts, i.at, i.http_code, i.duration_ms, i.response_body, i.error)
      insert into postback_attempts (delivery_id, n, at, http_code, duration_ms, response_body, error)
      select u.id, u.attempts, u.at, u.http_code, u.duration_ms, u.response_body, u.error from updated u
      returning postback_attempts.delivery_id, postback_attempts.n;
    end
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function record_postback_attempts(bigint[], text[], timestamptz[], int[], int[], text[], text[], text[], int[], boolean[])`.execute(db)
  await sql`drop function claim_postback_deliveries(text, int, int, boolean, text[])`.execute(db)
  await createPreviousClaim(db)
}

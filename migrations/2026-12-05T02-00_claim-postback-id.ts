import { sql, type Kysely } from 'kysely'

// The claim also returns each delivery's postback, so a dispatcher that learns of a deleted postback can
// drop the rows of it that it holds but has not sent (delete means stop). Same statement and pinned plan
// as before; a function's result type cannot change in place, hence drop and create.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function claim_postback_deliveries(text, int, int, boolean, text[])`.execute(db)
  await sql`
    create function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
    returns table (id bigint, postback_id int, method text, url text, body text, attempts int, previous_holder text)
    language plpgsql volatile
    set enable_bitmapscan = off
    set enable_sort = off
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    set plan_cache_mode = force_generic_plan
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
      returning d.id, d.postback_id, d.method, d.url, d.body, d.attempts, due.previous_holder;
    end
    $$`.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('not reversible: restore a backup instead')
}

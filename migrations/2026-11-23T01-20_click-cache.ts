import { sql, type Kysely } from 'kysely'

// Every instance caches offers and affiliates for click validation. These triggers announce each insert,
// update and delete on channel `s2s_cache` (payload `offer:<id>` / `affiliate:<id>`), delivered at commit,
// so no route that changes an offer or affiliate has to remember to invalidate the caches.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function s2s_cache_notify() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        perform pg_notify('s2s_cache', tg_argv[0] || ':' || old.id);
      else
        perform pg_notify('s2s_cache', tg_argv[0] || ':' || new.id);
      end if;
      return null;
    end
    $$`.execute(db)
  await sql`
    create trigger offers_cache_notify after insert or update or delete on offers
    for each row execute function s2s_cache_notify('offer')`.execute(db)
  await sql`
    create trigger affiliates_cache_notify after insert or update or delete on affiliates
    for each row execute function s2s_cache_notify('affiliate')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists affiliates_cache_notify on affiliates`.execute(db)
  await sql`drop trigger if exists offers_cache_notify on offers`.execute(db)
  await sql`drop function if exists s2s_cache_notify()`.execute(db)
}

import { sql, type Kysely } from 'kysely'

// Every instance keeps a replica of what click validation reads (offers, affiliates, links with a short code)
// and follows changes by polling, so clicks redirect while the database is away.
//
// Each row carries the transaction that last wrote it (`change_xid`, set by a trigger). A poller that took
// the snapshot's xmin (every transaction below it had finished) before its previous read needs only rows
// with `change_xid >= that xmin`: unlike a timestamp or a sequence, this misses no change that commits
// after a later one, and no application clock is involved. Deleted offers and affiliates leave a row in
// `click_replica_deletions`, read the same way. The NOTIFY triggers of migration 01-20 had one listener,
// the click cache this replaces, and go.
const STAMPED = ['offers', 'affiliates', 'tracking_links'] as const
const DELETABLE = [['offers', 'offer'], ['affiliates', 'affiliate']] as const

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function click_replica_stamp() returns trigger language plpgsql as $$
    begin
      new.change_xid := pg_current_xact_id();
      return new;
    end
    $$`.execute(db)
  for (const table of STAMPED) {
    await sql`alter table ${sql.table(table)} add column change_xid xid8 not null default pg_current_xact_id()`.execute(db)
    await sql`
      create trigger ${sql.id(`${table}_click_replica_stamp`)} before insert or update on ${sql.table(table)}
      for each row execute function click_replica_stamp()`.execute(db)
  }
  await sql`create index offers_change_xid on offers (change_xid)`.execute(db)
  await sql`create index affiliates_change_xid on affiliates (change_xid)`.execute(db)
  await sql`create index tracking_links_short_change_xid on tracking_links (change_xid) where short_code is not null`.execute(db)

  await sql`
    create table click_replica_deletions (
      kind text not null,
      id integer not null,
      change_xid xid8 not null default pg_current_xact_id()
    )`.execute(db)
  await sql`create index click_replica_deletions_change_xid on click_replica_deletions (change_xid)`.execute(db)
  await sql`
    create function click_replica_record_deletion() returns trigger language plpgsql as $$
    begin
      insert into click_replica_deletions (kind, id) values (tg_argv[0], old.id);
      return null;
    end
    $$`.execute(db)
  for (const [table, kind] of DELETABLE) {
    await sql`
      create trigger ${sql.id(`${table}_click_replica_deletion`)} after delete on ${sql.table(table)}
      for each row execute function click_replica_record_deletion(${sql.lit(kind)})`.execute(db)
  }

  await sql`drop trigger if exists offers_cache_notify on offers`.execute(db)
  await sql`drop trigger if exists affiliates_cache_notify on affiliates`.execute(db)
  await sql`drop function if exists s2s_cache_notify()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
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
  for (const [table, kind] of DELETABLE) {
    await sql`
      create trigger ${sql.id(`${table}_cache_notify`)} after insert or update or delete on ${sql.table(table)}
      for each row execute function s2s_cache_notify(${sql.lit(kind)})`.execute(db)
    await sql`drop trigger if exists ${sql.id(`${table}_click_replica_deletion`)} on ${sql.table(table)}`.execute(db)
  }
  await sql`drop function if exists click_replica_record_deletion()`.execute(db)
  await sql`drop table if exists click_replica_deletions`.execute(db)
  for (const table of STAMPED) {
    await sql`drop trigger if exists ${sql.id(`${table}_click_replica_stamp`)} on ${sql.table(table)}`.execute(db)
    await sql`alter table ${sql.table(table)} drop column if exists change_xid`.execute(db)
  }
  await sql`drop function if exists click_replica_stamp()`.execute(db)
}

import { sql, type Kysely } from 'kysely'

// Postback intake caches offers (with goals and the secure code in force) and affiliate statuses. A cache fed
// by NOTIFY can lag a change by the listener's delay; this version number cannot: every statement that changes
// offers, goals, advertisers or affiliates bumps it in the same transaction, and the intake reads it with the
// click, so it drops its cache whenever a change it could have missed is visible.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table intake_catalog_version (id integer primary key check (id = 1), version bigint not null)`.execute(db)
  await sql`insert into intake_catalog_version (id, version) values (1, 0)`.execute(db)
  await sql`
    create function intake_catalog_bump() returns trigger language plpgsql as $$
    begin
      update intake_catalog_version set version = version + 1 where id = 1;
      return null;
    end
    $$`.execute(db)
  for (const table of ['offers', 'offer_goals', 'advertisers', 'affiliates']) {
    await sql`
      create trigger ${sql.id(`${table}_intake_catalog_bump`)} after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function intake_catalog_bump()`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['offers', 'offer_goals', 'advertisers', 'affiliates']) {
    await sql`drop trigger if exists ${sql.id(`${table}_intake_catalog_bump`)} on ${sql.table(table)}`.execute(db)
  }
  await sql`drop function if exists intake_catalog_bump()`.execute(db)
  await sql`drop table if exists intake_catalog_version`.execute(db)
}

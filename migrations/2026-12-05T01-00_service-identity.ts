import { sql, type Kysely } from 'kysely'

// A secret every instance of one deployment shares (they share the database) and nobody else knows: the
// dispatcher signs each request it sends with it, so intake can tell this deployment's own postbacks (a
// loop) from those of another network that happens to run the same software.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table service_identity (id integer primary key check (id = 1), loop_key text not null)`.execute(db)
  await sql`insert into service_identity (id, loop_key)
    values (1, replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists service_identity`.execute(db)
}

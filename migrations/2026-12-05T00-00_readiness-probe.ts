import { sql, type Kysely } from 'kysely'

// One row that /ready rewrites: readiness means the database takes writes, which a read-only replica, a
// read-only transaction default or a full disk refuse while still answering reads.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table readiness_probe (id integer primary key check (id = 1), checked_at timestamptz not null)`.execute(db)
  await sql`insert into readiness_probe (id, checked_at) values (1, now())`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists readiness_probe`.execute(db)
}

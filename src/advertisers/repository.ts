import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { ListQuery } from '../db/list.js'
import type { AdvertiserCreate, AdvertiserPatch } from './schemas.js'

export function findAdvertiser (db: Db, id: number) {
  return db.selectFrom('advertisers').selectAll().where('id', '=', id).executeTakeFirst()
}

export function listAdvertisers (db: Db, query: ListQuery & { status?: string }) {
  let q = db.selectFrom('advertisers').selectAll()
  if (query.status !== undefined) q = q.where('status', '=', query.status as 'active' | 'inactive')
  return listWindow(q, 'advertisers', query).execute()
}

export function insertAdvertiser (db: Db, input: AdvertiserCreate) {
  return db
    .insertInto('advertisers')
    .values({ name: input.name, status: input.status, secure_code: input.secure_code ?? null })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export function updateAdvertiser (db: Db, id: number, patch: AdvertiserPatch) {
  return db
    .updateTable('advertisers')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

/** Deletes unless offers still refer to it; the caller maps `referenced` to 409. */
export async function deleteAdvertiser (db: Db, id: number): Promise<'deleted' | 'missing' | 'referenced'> {
  const offer = await db.selectFrom('offers').select('id').where('advertiser_id', '=', id).limit(1).executeTakeFirst()
  if (offer !== undefined) {
    const exists = await findAdvertiser(db, id)
    return exists === undefined ? 'missing' : 'referenced'
  }
  const result = await db.deleteFrom('advertisers').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n ? 'deleted' : 'missing'
}

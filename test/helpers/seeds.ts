import type { FastifyInstance } from 'fastify'
import type { Transaction } from 'kysely'
import pg from 'pg'
import type { ClickRecord } from '../../src/clicks/repository.js'
import type { NewConversion } from '../../src/conversions/repository.js'
import type { Database } from '../../src/db/tables.js'
import { enqueueDeliveries } from '../../src/affiliate-postbacks/enqueue.js'
import { newClickId } from '../../src/domain/click-ids.js'

// Database seeds: rows written straight to the tables, and read straight back, bypassing the API. They make
// states the routes cannot make on demand (a retry already due, a lease left by a dead instance, thousands of
// conversions in one go) and let rules be tested independently of the routes that would create the rows.
// Each row is written as the service itself would write it, so what reads it cannot tell the difference.
// Only the service's own modules are imported, never another helper, so bench/ compiles this file too.

/** The offer and affiliate a seeded row belongs to (any scene that has them). */
export interface SeedOwner {
  offer: { id: number }
  affiliate: { id: number }
}

/** A pending conversion of goal `1` in USD with no click, no money and nothing optional, unless `fields` say otherwise. */
export function conversionRow (fields: Pick<NewConversion, 'offer_id' | 'affiliate_id'> & Partial<NewConversion>): NewConversion {
  return {
    clickid: null,
    goal: '1',
    action_id: null,
    click_dedup_key: null,
    status: 'pending',
    decline_reason: null,
    integration_method: 'default',
    sum: null,
    revenue: '0.0000',
    payout: '0.0000',
    currency: 'USD',
    order_currency: null,
    ip: null,
    user_agent: null,
    comment: null,
    custom_fields: '{}',
    country: null,
    click_params: '{}',
    click_created_at: null,
    hold_until: null,
    created_at: new Date(),
    ...fields,
  }
}

// ---- Rows that refer to an offer or affiliate, for the catalog's delete and goal rules

let seeded = 0
/** A value unique within this test process, as fixtures.ts's `uniqueSuffix` (not imported: see above). */
function uniqueKey (): string {
  seeded += 1
  return `k${process.pid}-${seeded}-${Math.random().toString(36).slice(2, 8)}`
}

export function insertTrackingLinkRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number; tracking_domain_id?: number | null }) {
  return app.db.insertInto('tracking_links').values({
    tracking_domain_id: null, use_ssl: false, params: '{}', params_key: uniqueKey(), url: 'http://localhost/click', ...row,
  }).execute()
}

export function insertPostbackRow (app: FastifyInstance, row: { affiliate_id: number; offer_id: number | null; goal?: string | null }) {
  return app.db.insertInto('postbacks').values({
    url: 'https://aff.example/pb', method: 'GET', status: 'any', integration_method: 'all', force_global: false, goal: null, ...row,
  }).execute()
}

export function insertConversionRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number }) {
  return app.db.insertInto('conversions').values(conversionRow(row)).execute()
}

/** A click as the recorder writes it, created at `at` (ms) with an id that names its second. */
export function clickRecord (offerId: number, affiliateId: number, at: number, params: Record<string, string> = {}): ClickRecord {
  return {
    clickid: newClickId(new Date(at)),
    offer_id: offerId,
    affiliate_id: affiliateId,
    tracking_link_id: null,
    params,
    ip: '203.0.113.7',
    user_agent: 'ua',
    referrer: null,
    created_at: new Date(at),
  }
}

export function insertClickRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number }) {
  const createdAt = new Date()
  return app.db.insertInto('clicks').values({
    clickid: newClickId(createdAt), params: '{}', ip: '127.0.0.1', user_agent: '', created_at: createdAt, ...row,
  }).execute()
}

/**
 * A global GET postback for every status, as the admin API writes it, through its own connection: for tests
 * that drive a service process and hold no app.
 */
export async function insertGlobalPostback (databaseUrl: string, affiliateId: number, url: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query(
      `insert into postbacks (affiliate_id, offer_id, url, method, status, goal, integration_method, force_global)
       values ($1, null, $2, 'GET', 'any', null, 'all', false) returning id`, [affiliateId, url])
    return Number(result.rows[0].id)
  } finally {
    await client.end()
  }
}

// ---- Conversions and deliveries, for the dispatcher

/**
 * A conversion and its creation event written straight into the database, with enqueueDeliveries in
 * the same transaction (as intake does): for tests that need many, fast, or no click at all.
 */
export async function seedConversion (app: FastifyInstance, owner: SeedOwner, status: 'approved' | 'pending' = 'approved'): Promise<number> {
  return app.db.transaction().execute(async (trx) => {
    const { conversionId, eventId } = await insertConversionWithEvent(trx, owner, status, { revenue: '12.5000', payout: '9.9980' })
    await enqueueDeliveries(trx, [{ id: eventId, conversionId }])
    return conversionId
  })
}

/** A conversion row and its creation event, as intake writes them, with no delivery. */
async function insertConversionWithEvent (
  trx: Transaction<Database>, owner: SeedOwner, status: 'approved' | 'pending', money: { revenue: string; payout: string }
): Promise<{ conversionId: number; eventId: number }> {
  const conversion = await trx
    .insertInto('conversions')
    .values(conversionRow({ offer_id: owner.offer.id, affiliate_id: owner.affiliate.id, status, ...money }))
    .returning('id')
    .executeTakeFirstOrThrow()
  const event = await trx
    .insertInto('conversion_events')
    .values({ conversion_id: conversion.id, kind: 'created', from_status: null, to_status: status, source: 'advertiser' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { conversionId: conversion.id, eventId: event.id }
}

export interface RawDelivery {
  postbackId: number
  url: string
  method?: 'GET' | 'POST'
  body?: string | null
  /** `pending` unless given; a `delivered` one is stamped delivered now. */
  state?: 'pending' | 'delivered'
  attempts?: number
  /** For a pending delivery, a second ago (due at once) unless given; none for a delivered one. */
  nextAttemptAt?: Date
  lockedBy?: string | null
  lockedUntil?: Date | null
}

/**
 * A delivery row in a given condition (a retry already due, a claim left by a dead instance, already
 * delivered), with the approved conversion and event it belongs to: for tests that need a state intake
 * never produces on demand. Returns the delivery id.
 */
export async function insertDelivery (app: FastifyInstance, owner: SeedOwner, raw: RawDelivery): Promise<number> {
  const state = raw.state ?? 'pending'
  return app.db.transaction().execute(async (trx) => {
    const { conversionId, eventId } = await insertConversionWithEvent(trx, owner, 'approved', { revenue: '1.0000', payout: '1.0000' })
    const delivery = await trx
      .insertInto('postback_deliveries')
      .values({
        postback_id: raw.postbackId,
        conversion_id: conversionId,
        event_id: eventId,
        affiliate_id: owner.affiliate.id,
        method: raw.method ?? 'GET',
        url: raw.url,
        body: raw.body ?? null,
        state,
        attempts: raw.attempts ?? 0,
        next_attempt_at: raw.nextAttemptAt ?? (state === 'pending' ? new Date(Date.now() - 1000) : null),
        delivered_at: state === 'delivered' ? new Date() : null,
        locked_by: raw.lockedBy ?? null,
        locked_until: raw.lockedUntil ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    return delivery.id
  })
}

// ---- Reads straight from the tables

/** Rows in the clicks table. */
export async function countClicks (app: FastifyInstance): Promise<number> {
  const row = await app.db.selectFrom('clicks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

export function deliveryState (app: FastifyInstance, id: number) {
  return app.db.selectFrom('postback_deliveries').select(['state', 'next_attempt_at']).where('id', '=', id).executeTakeFirstOrThrow()
}

/** Delivery ids and states through a connection of its own: for tests that drive a service process and hold no app. */
export async function deliveryStates (databaseUrl: string): Promise<{ id: number; state: string; attempts: number }[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query('select id, state, attempts from postback_deliveries order by id')
    return result.rows.map((row) => ({ id: Number(row.id), state: String(row.state), attempts: Number(row.attempts) }))
  } finally {
    await client.end()
  }
}

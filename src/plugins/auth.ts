import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpProblem } from '../http/problem.js'
import type { Db } from '../db/database.js'

export type Principal = { kind: 'admin' } | { kind: 'affiliate'; affiliateId: number }

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyInstance {
    /** Whether `key` is one of the admin keys (for routes outside /v1 that accept one, such as /metrics). */
    isAdminKey(key: string): boolean
    /** onRequest hook for /v1: admin key on admin routes, affiliate key on /v1/affiliate/ routes. */
    authorize: (request: FastifyRequest) => Promise<void>
  }
}

/** Keys are long random strings, so a fast hash is the right tool (no password stretching needed). */
export function hashApiKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export function generateApiKey (prefix: 'adm' | 'aff'): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`
}

/** The affiliate a panel request acts for; only ever called behind `authorize`. */
export function panelAffiliateId (request: FastifyRequest): number {
  const principal = request.principal
  if (principal?.kind !== 'affiliate') throw new HttpProblem('forbidden', 'This route needs an affiliate API key')
  return principal.affiliateId
}

const PANEL_PREFIX = '/v1/affiliate/'
const ADMIN_KEY_LOCK = 7_310_001

function findAffiliateByKeyHash (db: Db, hash: string) {
  return db.selectFrom('affiliates').select(['id', 'status']).where('api_key_hash', '=', hash).executeTakeFirst()
}

/** Whether `key` is some affiliate's API key (whatever its status). */
export async function isAffiliateKey (db: Db, key: string): Promise<boolean> {
  return (await findAffiliateByKeyHash(db, hashApiKey(key))) !== undefined
}

async function authPlugin (fastify: FastifyInstance) {
  const { config, db } = fastify
  const adminKeyHashes = new Set<string>()

  if (config.adminApiKeys !== null) {
    for (const key of config.adminApiKeys) adminKeyHashes.add(hashApiKey(key))
  } else {
    // Serialised by an advisory lock so instances starting together generate one key, not two.
    const generated = await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${ADMIN_KEY_LOCK})`.execute(trx)
      const existing = await trx.selectFrom('admin_api_keys').select('id').limit(1).executeTakeFirst()
      if (existing !== undefined) return null
      const key = generateApiKey('adm')
      await trx.insertInto('admin_api_keys').values({ key_hash: hashApiKey(key) }).execute()
      return key
    })
    if (generated !== null) {
      const file = path.resolve(config.dataDir, 'admin-api-key')
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, generated + '\n', { mode: 0o600 })
      fastify.log.warn({ file }, 'generated an admin API key (ADMIN_API_KEYS is unset); it is in this file')
    }
    for (const row of await db.selectFrom('admin_api_keys').select('key_hash').execute()) {
      adminKeyHashes.add(row.key_hash)
    }
  }

  fastify.decorateRequest('principal', null)
  fastify.decorate('isAdminKey', (key: string) => adminKeyHashes.has(hashApiKey(key)))

  fastify.decorate('authorize', async (request: FastifyRequest) => {
    const header = request.headers['api-key']
    const key = Array.isArray(header) ? header[0] : header
    if (key === undefined || key === '') {
      throw new HttpProblem('unauthorized', 'Missing API-Key header', { headers: { 'www-authenticate': 'API-Key' } })
    }
    const hash = hashApiKey(key)
    const wantsPanel = (request.routeOptions.url ?? request.url).startsWith(PANEL_PREFIX)
    if (adminKeyHashes.has(hash)) {
      if (wantsPanel) throw new HttpProblem('forbidden', 'Affiliate-panel routes need an affiliate API key')
      request.principal = { kind: 'admin' }
      return
    }
    const affiliate = await findAffiliateByKeyHash(db, hash)
    if (affiliate === undefined) {
      throw new HttpProblem('unauthorized', 'Unknown API key', { headers: { 'www-authenticate': 'API-Key' } })
    }
    if (!wantsPanel) throw new HttpProblem('forbidden', 'This route needs an admin API key')
    if (affiliate.status !== 'active') throw new HttpProblem('forbidden', `Affiliate is ${affiliate.status}`)
    request.principal = { kind: 'affiliate', affiliateId: affiliate.id }
  })
}

export default fp(authPlugin, { name: 'auth', dependencies: ['database'] })

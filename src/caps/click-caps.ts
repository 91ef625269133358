import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { capPeriod, type CapPeriod, type ClickCap } from '../domain/caps.js'
import { AMOUNT_SCALE, amountFromDb } from '../domain/money.js'

declare module 'fastify' {
  interface FastifyInstance {
    clickCaps: ClickCaps
  }
}

/**
 * How often each instance adds its clicks to the shared counters and reads back everyone's. A click is
 * judged on the shared count as last read plus this instance's clicks since: what it cannot see is the other
 * instances' clicks of at most one interval before their last sync and one since ours, plus a round trip, so a
 * clicks cap is passed by at most the fleet's traffic of about half a second (contract §4.4: at most one).
 */
export const CLICK_CAP_SYNC_MS = 250

interface Period { start: number; end: number }

function counterText (offerId: number, period: CapPeriod, affiliateId: number, start: number): string {
  // The same text as caps/repository.ts offerCounterText for a clicks counter (no goal).
  return `${offerId}|clicks|${period}||${affiliateId}|${start}`
}

/**
 * Clicks caps without a database round trip per click: each instance counts the clicks it lets through in
 * memory and, every CLICK_CAP_SYNC_MS, adds them to the shared counters (cap_counters) and reads back what
 * every instance has counted. While the database is away, clicks are judged on the last count read plus this
 * instance's own, and what could not be added is added at the next sync.
 */
export class ClickCaps {
  /** Shared counts as last read, by counter text. */
  private shared = new Map<string, number>()
  /** This instance's clicks not yet added to the shared counters. */
  private local = new Map<string, number>()
  /** Clicks being added right now: still counted until the read that includes them. */
  private sending = new Map<string, number>()
  /** Offers whose clicks caps have judged a click here: their counters are read back at every sync. */
  private readonly capped = new Set<number>()
  private readonly periods = new Map<CapPeriod, Period>()
  /** Counter texts by cap (the replica's objects: a changed offer brings new ones) and affiliate, for the current period. */
  private readonly texts = new WeakMap<ClickCap, { start: number; byAffiliate: Map<number, string> }>()
  private timer: NodeJS.Timeout | undefined
  private syncing: Promise<void> | null = null
  private failing = false

  constructor (private readonly db: Db, private readonly log: FastifyBaseLogger) {}

  /** The period `now` falls in, computed once per period rather than once per click. */
  private period (period: CapPeriod, now: Date): Period {
    const known = this.periods.get(period)
    const ms = now.getTime()
    if (known !== undefined && ms >= known.start && ms < known.end) return known
    const { start, end } = capPeriod(period, now)
    const fresh = { start: start.getTime(), end: end?.getTime() ?? Number.POSITIVE_INFINITY }
    this.periods.set(period, fresh)
    return fresh
  }

  /**
   * The counter text of a cap for one affiliate (0: all) in the period starting at `start`, made once per period
   * and kept with the cap: a click then builds no string, so judging caps costs a few map reads per click.
   */
  private counterTextOf (offerId: number, cap: ClickCap, affiliateKey: number, start: number): string {
    let known = this.texts.get(cap)
    if (known === undefined || known.start !== start) {
      known = { start, byAffiliate: new Map() }
      this.texts.set(cap, known)
    }
    let text = known.byAffiliate.get(affiliateKey)
    if (text === undefined) {
      text = counterText(offerId, cap.period, affiliateKey, start)
      known.byAffiliate.set(affiliateKey, text)
    }
    return text
  }

  private count (text: string): number {
    return (this.shared.get(text) ?? 0) + (this.local.get(text) ?? 0) + (this.sending.get(text) ?? 0)
  }

  /**
   * Whether one more click of this affiliate is within every clicks cap of the offer; when it is and `record`
   * is set, it is counted. `caps` are the offer's clicks caps (the replica keeps only those).
   */
  admit (offerId: number, caps: readonly ClickCap[], affiliateId: number, now: Date, record: boolean): boolean {
    this.capped.add(offerId)
    let texts: string[] | undefined
    for (const cap of caps) {
      if (cap.affiliate_id !== null && cap.affiliate_id !== affiliateId) continue
      const text = this.counterTextOf(offerId, cap, cap.per_affiliate || cap.affiliate_id !== null ? affiliateId : 0, this.period(cap.period, now).start)
      if (this.count(text) >= cap.clicks) return false
      // Two caps over the same traffic share a counter: counted once.
      if (texts === undefined) texts = [text]
      else if (!texts.includes(text)) texts.push(text)
    }
    if (record && texts !== undefined) {
      for (const text of texts) this.local.set(text, (this.local.get(text) ?? 0) + 1)
    }
    return true
  }

  start (): void {
    this.timer = setInterval(() => { void this.sync() }, CLICK_CAP_SYNC_MS)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.syncing
    // What this instance counted is not lost at a graceful shutdown.
    await this.sync()
  }

  /** Adds the local counts to the shared counters and reads back every capped offer's counters. */
  sync (): Promise<void> {
    this.syncing ??= this.exchange().finally(() => { this.syncing = null })
    return this.syncing
  }

  private async exchange (): Promise<void> {
    if (this.capped.size === 0 && this.local.size === 0) return
    this.sending = this.local
    this.local = new Map()
    const offers = [...this.capped]
    const entries = [...this.sending.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    try {
      const keys = entries.map(([text]) => text.split('|'))
      const rows = await this.db.transaction().execute(async (trx) => {
        if (entries.length > 0) {
          await sql`
            insert into cap_counters (offer_id, metric, period, goal, affiliate_id, period_start, used)
            select * from unnest(${keys.map((k) => Number(k[0]))}::int[], ${keys.map(() => 'clicks')}::text[],
              ${keys.map((k) => k[2])}::text[], ${keys.map(() => '')}::text[], ${keys.map((k) => Number(k[4]))}::int[],
              ${keys.map((k) => new Date(Number(k[5])).toISOString())}::timestamptz[], ${entries.map(([, n]) => n)}::numeric[])
            on conflict (offer_id, metric, period, goal, affiliate_id, period_start) do update set used = cap_counters.used + excluded.used`.execute(trx)
        }
        const starts = [...this.periods.values()].map((p) => new Date(p.start).toISOString()).concat(new Date(0).toISOString())
        return (await sql<{ offer_id: number; period: CapPeriod; affiliate_id: number; period_start: Date; used: string }>`
          select offer_id, period, affiliate_id, period_start, used from cap_counters
          where metric = 'clicks' and offer_id = any(${offers}::int[]) and period_start = any(${starts}::timestamptz[])`.execute(trx)).rows
      })
      const shared = new Map<string, number>()
      for (const row of rows) {
        shared.set(counterText(row.offer_id, row.period, row.affiliate_id, new Date(row.period_start).getTime()), Number(amountFromDb(row.used) / AMOUNT_SCALE))
      }
      this.shared = shared
      this.sending = new Map()
      if (this.failing) {
        this.failing = false
        this.log.info('clicks caps follow the shared counters again')
      }
    } catch (err) {
      // Kept for the next sync; meanwhile still counted.
      for (const [text, n] of this.sending) this.local.set(text, (this.local.get(text) ?? 0) + n)
      this.sending = new Map()
      if (!this.failing) {
        this.failing = true
        this.log.error({ err }, 'clicks caps cannot reach the shared counters; each instance judges on the last count read plus its own clicks')
      }
    }
  }
}

async function clickCapsPlugin (fastify: FastifyInstance) {
  const caps = new ClickCaps(fastify.db, fastify.log.child({ component: 'click-caps' }))
  caps.start()
  fastify.decorate('clickCaps', caps)
  fastify.addHook('onClose', () => caps.stop())
}

export default fp(clickCapsPlugin, { name: 'click-caps', dependencies: ['database'] })

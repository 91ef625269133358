import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { settleWithin, withTimeout } from '../lib/time-limit.js'
import { insertClicks, type ClickRecord } from './repository.js'
import { ClickPartitionCover } from './partitions.js'

declare module 'fastify' {
  interface FastifyInstance {
    clickRecorder: ClickRecorder
  }
}

export interface ClickRecorderOptions {
  write: (clicks: readonly ClickRecord[]) => Promise<void>
  log: FastifyBaseLogger
  flushIntervalMs: number
  /** A batch this large is written at once instead of waiting for the interval. */
  batchSize?: number
  /** Clicks kept in memory while the database is unreachable; beyond this they are dropped (and counted). */
  maxBuffered?: number
  /** While clicks are being dropped, one log line per interval gives how many, and the total. */
  dropReportIntervalMs?: number
  /** How long shutdown waits for the last write. */
  closeTimeoutMs?: number
  /** Batches written at once while a backlog lasts. */
  parallelWrites?: number
  /** A write that takes longer counts as failed and is retried (a retried click is written once: ids are keys). */
  writeTimeoutMs?: number
}

/**
 * Keeps the click's database write off the redirect: clicks are buffered and written in multi-row batches
 * every `flushIntervalMs` or as soon as a batch fills. While the database fails, clicks stay buffered (up to
 * `maxBuffered`) and are retried on the next tick; a row the database refuses on its own is dropped alone.
 */
export class ClickRecorder {
  /** Clicks written to the database. */
  recorded = 0
  /** Valid clicks handed to the recorder (buffered or dropped). */
  received = 0
  /** Clicks lost: beyond the buffer bound, refused by the database, or unwritten at shutdown. */
  dropped = 0
  /** The most clicks ever waiting at once: how far writing fell behind. */
  peakBuffered = 0
  /** Invalid clicks (sent to trafficback or answered 404), by reason. */
  readonly invalid: Record<string, number> = Object.create(null) as Record<string, number>

  private pending: ClickRecord[] = []
  /** Every click not yet written (pending or in flight), for lookups by click id. */
  private readonly unwritten = new Map<string, ClickRecord>()
  private chain: Promise<void> = Promise.resolve()
  private writing = false
  private writesFailing = false
  private droppedSinceReport = 0
  private dropReport: NodeJS.Timeout | undefined
  private readonly timer: NodeJS.Timeout
  private readonly batchSize: number
  private readonly maxBuffered: number
  private readonly closeTimeoutMs: number
  private readonly writeTimeoutMs: number
  private readonly parallelWrites: number
  private readonly dropReportIntervalMs: number
  private closed = false

  constructor (private readonly options: ClickRecorderOptions) {
    this.batchSize = options.batchSize ?? 500
    this.maxBuffered = options.maxBuffered ?? 100_000
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000
    this.writeTimeoutMs = options.writeTimeoutMs ?? 30_000
    this.parallelWrites = options.parallelWrites ?? 4
    this.dropReportIntervalMs = options.dropReportIntervalMs ?? 10_000
    this.timer = setInterval(() => {
      if (!this.writing && this.pending.length > 0) void this.flush()
    }, options.flushIntervalMs)
    this.timer.unref()
  }

  /** Clicks accepted but not yet in the database. */
  get buffered (): number {
    return this.unwritten.size
  }

  /** The counters a metrics endpoint reads. */
  stats (): { recorded: number; buffered: number; dropped: number } {
    return { recorded: this.recorded, buffered: this.unwritten.size, dropped: this.dropped }
  }

  /** True from a failed write (database unreachable) until the next successful one. */
  get failing (): boolean {
    return this.writesFailing
  }

  /** Buffers a click; returns false when the buffer is full and the click was dropped. */
  record (click: ClickRecord): boolean {
    this.received += 1
    if (this.closed) {
      this.drop(1, 'clicks arrived after shutdown flushed the buffer')
      return false
    }
    if (this.unwritten.size >= this.maxBuffered) {
      this.drop(1, 'the click buffer is full (database unreachable?)')
      return false
    }
    this.pending.push(click)
    this.unwritten.set(click.clickid, click)
    if (this.unwritten.size > this.peakBuffered) this.peakBuffered = this.unwritten.size
    if (this.pending.length >= this.batchSize && !this.writing) void this.flush()
    return true
  }

  /** A click recorded on this instance that may not have reached the database yet. */
  findBuffered (clickid: string): ClickRecord | undefined {
    return this.unwritten.get(clickid)
  }

  countInvalid (reason: string): void {
    this.invalid[reason] = (this.invalid[reason] ?? 0) + 1
  }

  /**
   * Writes everything buffered so far. Safe to call concurrently: calls queue behind each other, so when
   * one resolves every click recorded before it was called has been written or is kept for retry (the
   * database failed). Never rejects.
   */
  flush (): Promise<void> {
    const run = this.chain.then(() => this.drain())
    this.chain = run
    return run
  }

  /** Stops the timer and writes what is left, waiting at most `closeTimeoutMs`. */
  async close (): Promise<void> {
    clearInterval(this.timer)
    this.closed = true
    await settleWithin(this.flush(), this.closeTimeoutMs)
    if (this.unwritten.size > 0) {
      this.options.log.error({ lost: this.unwritten.size }, 'shutdown: clicks could not be written and are lost')
      this.drop(this.unwritten.size, 'shutdown could not write them')
      this.pending = []
      this.unwritten.clear()
    }
    this.reportDropped()
  }

  private async drain (): Promise<void> {
    this.writing = true
    try {
      while (this.pending.length > 0) {
        // A backlog is written several batches at a time, so a burst (or a database that was away) clears quickly.
        const batches: ClickRecord[][] = []
        while (this.pending.length > 0 && batches.length < this.parallelWrites) batches.push(this.pending.splice(0, this.batchSize))
        const unsettled = (await Promise.all(batches.map((batch) => this.writeBatch(batch)))).flat()
        if (unsettled.length > 0) {
          // The database is unreachable: keep these in front and let the next tick retry.
          this.pending.unshift(...unsettled)
          return
        }
      }
    } finally {
      this.writing = false
    }
  }

  /** Writes a batch; returns the clicks still to write (none once written, or once bad rows are dropped). */
  private async writeBatch (batch: ClickRecord[]): Promise<ClickRecord[]> {
    try {
      await this.write(batch)
      this.settle(batch)
      if (this.writesFailing) {
        this.writesFailing = false
        this.options.log.info({ buffered: this.unwritten.size }, 'clicks are being written again')
      }
      return []
    } catch (err) {
      if (!isDataError(err)) {
        if (!this.writesFailing) {
          this.writesFailing = true
          this.options.log.error({ err, buffered: this.unwritten.size }, 'writing clicks failed; keeping them buffered and retrying')
        }
        return batch
      }
      // A row the database refuses (it should never happen: input is sanitised) must not block the others.
      for (let i = 0; i < batch.length; i++) {
        const click = batch[i] as ClickRecord
        try {
          await this.write([click])
          this.settle([click])
        } catch (rowErr) {
          if (!isDataError(rowErr)) return batch.slice(i)
          this.unwritten.delete(click.clickid)
          this.options.log.error({ err: rowErr, clickid: click.clickid }, 'the database refused a click; dropped')
          this.drop(1, 'the database refused them')
        }
      }
      return []
    }
  }

  /** The configured write, bounded in time: a hung connection must not stall every later click. */
  private async write (clicks: readonly ClickRecord[]): Promise<void> {
    await withTimeout(this.options.write(clicks), this.writeTimeoutMs, () => {
      throw new Error(`writing clicks took over ${this.writeTimeoutMs} ms`)
    })
  }

  private settle (clicks: readonly ClickRecord[]): void {
    for (const click of clicks) this.unwritten.delete(click.clickid)
    this.recorded += clicks.length
  }

  /**
   * Counts dropped clicks. The first drop of a run is logged at once; then one line per interval gives the
   * number dropped in it and the total, until an interval passes without a drop.
   */
  private drop (count: number, reason: string): void {
    this.dropped += count
    this.droppedSinceReport += count
    // After shutdown no interval is left to report them: at once.
    if (this.closed) return this.reportDropped()
    if (this.dropReport !== undefined) return
    this.options.log.error(
      { reason, droppedTotal: this.dropped },
      `clicks are being dropped: ${reason}; a count follows every ${this.dropReportIntervalMs / 1000} s while it lasts`
    )
    this.dropReport = setInterval(() => this.reportDropped(), this.dropReportIntervalMs)
    this.dropReport.unref()
  }

  private reportDropped (): void {
    const count = this.droppedSinceReport
    if (count === 0 || this.closed) {
      clearInterval(this.dropReport)
      this.dropReport = undefined
    }
    if (count === 0) return
    this.droppedSinceReport = 0
    this.options.log.error(
      { dropped: count, droppedTotal: this.dropped, buffered: this.unwritten.size, intervalMs: this.dropReportIntervalMs },
      `${count} clicks dropped in the last interval (${this.dropped} since start)`
    )
  }
}

/** PostgreSQL classes 22 (data exception) and 23 (integrity): the rows are at fault, not the connection. */
function isDataError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^2[23]/.test(code)
}

/** Decorates `fastify.clickRecorder`; closes before the database (it depends on it) and flushes on the way. */
async function clickRecorderPlugin (fastify: FastifyInstance) {
  const { db, config } = fastify
  const partitions = new ClickPartitionCover(db)
  const recorder = new ClickRecorder({
    write: (clicks) => partitions.write(clicks.map((click) => click.created_at), () => insertClicks(db, clicks)),
    log: fastify.log.child({ component: 'click-recorder' }),
    flushIntervalMs: config.clickFlushIntervalMs,
    maxBuffered: config.clickBufferLimit,
    dropReportIntervalMs: config.clickDropReportIntervalMs,
  })
  fastify.decorate('clickRecorder', recorder)
  fastify.addHook('onClose', async () => {
    await recorder.close()
  })
}

export default fp(clickRecorderPlugin, { name: 'click-recorder', dependencies: ['database'] })

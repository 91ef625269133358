import { randomUUID } from 'node:crypto'
import PQueue from 'p-queue'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../db/database.js'
import { retryAfterCapMs, retryDelayMs } from '../domain/retry.js'
import { settleWithin } from '../lib/time-limit.js'
import { HOST_PREFIX, isGoneLocalHolder, newHolderId } from './holder.js'
import { OriginGate } from './origin-gate.js'
import { AttemptRecorder } from './recorder.js'
import type { AttemptOutcome, InFlightAttempt, PostbackSender } from './sender.js'
import {
  claimDue, deferClaims, holdOrigin, leaseOne, liveHoldersWithPrefix, liveOriginHolds, originKey, releaseClaims, releaseHolders, signingKeysOf,
  type AttemptDecision, type ClaimedDelivery, type HealthPolicy,
} from './repository.js'

export interface DispatcherSettings {
  timeoutMs: number
  retryScheduleMs: readonly number[]
  concurrency: number
  /** Fallback poll: finds retries that came due and leases that expired (the sweeper). */
  pollIntervalMs: number
  /** When a failing postback is disabled, and the clock endpoint health is kept by (§5.7). */
  health: HealthPolicy
}

type Lane = 'first' | 'retry'
interface Claimed {
  row: ClaimedDelivery
  lane: Lane
  origin: string
}

/** Claims that skip crowded receivers scan past their rows: at most one such claim per interval. */
const SKIPPING_CLAIM_INTERVAL_MS = 100
/** Rows per claim statement at most. */
const MAX_CLAIM = 200
/**
 * While this many attempts are in flight (or a quarter of POSTBACK_CONCURRENCY, if fewer), a claim waits
 * a moment for room for this many rows. Claiming as soon as one slot freed made claims of one or two rows;
 * batches of 16 or more cut the CPU per delivery by about a seventh, in the app and in PostgreSQL alike
 * (backlog bench, runs interleaved).
 */
const MIN_CLAIM = 16
const SMALL_CLAIM_WAIT_MS = 5

/**
 * The delivery engine: claims due deliveries from the database under a lease, sends them through the
 * shared agent, records every attempt and schedules the next. Several instances share one database.
 *
 * Slots: POSTBACK_CONCURRENCY requests in flight; half of them at most to one receiver (with a short
 * parked queue behind, see OriginGate) and half at most for retries, so neither a slow receiver nor a
 * backlog of retries keeps first attempts to other receivers waiting.
 */
export class Dispatcher {
  readonly instanceId = newHolderId()
  /**
   * Longer than a claimed row can take: up to two timeouts parked behind its receiver's bound, then
   * its own attempt, plus a margin. A live holder never loses its lease; a dead one's rows come back.
   */
  readonly leaseMs: number
  readonly sender: PostbackSender
  /** Told of every recorded attempt (the metrics plugin counts them). */
  onAttempt: ((durationMs: number, result: 'delivered' | 'retry' | 'failed' | 'refused') => void) | null = null

  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #settings: DispatcherSettings
  readonly #beforeSending: () => Promise<void>
  readonly #queue: PQueue
  readonly #perOrigin: number
  readonly #retryCap: number
  readonly #minClaim: number
  /** Claimed by this instance and not yet recorded: parked, sending, or being written. Released at shutdown. */
  readonly #held = new Set<number>()
  readonly #gate: OriginGate<Claimed>
  readonly #recorder: AttemptRecorder
  /** Attempts under way, cut short if they outlast the shutdown grace. */
  readonly #inFlight = new Set<InFlightAttempt>()
  #cutShort = false
  /** Deleted postbacks (id → when this instance learnt it): their held rows are dropped, never sent. */
  readonly #stopped = new Map<number, number>()
  /**
   * Receivers that asked for air (429/503 with Retry-After), with until when (ms since the epoch): their rows are
   * not sent meanwhile but put back to wait, attempts untouched. Shared with the other instances through the
   * database (read on every poll).
   */
  readonly #holds = new Map<string, number>()
  /** The longest a receiver may hold its deliveries back: the schedule's longest wait. */
  readonly #holdCapMs: number
  #sending = 0
  /** Retries parked or sending. */
  #retriesActive = 0
  #lastSkippingClaimAt = 0
  /** Since when a claim too small to be worth it has been put off; null when none is. */
  #smallClaimSince: number | null = null
  #smallClaimTimer: NodeJS.Timeout | null = null
  #retriesMaybeDue = true
  #pumping = false
  #pumpAgain = false
  #started = false
  #stopping = false
  #pollTimer: NodeJS.Timeout | null = null
  #wake: { at: number; timer: NodeJS.Timeout } | null = null

  constructor (deps: {
    db: Db
    log: FastifyBaseLogger
    sender: PostbackSender
    /** Runs before claimed rows or a resend are sent: reads what the sender must know fresh (the tracking domains). */
    beforeSending?: () => Promise<void>
    settings: DispatcherSettings
  }) {
    this.#db = deps.db
    this.#beforeSending = deps.beforeSending ?? (async () => {})
    this.#log = deps.log
    this.sender = deps.sender
    this.#settings = deps.settings
    this.leaseMs = 3 * deps.settings.timeoutMs + 30_000
    const { concurrency } = deps.settings
    this.#queue = new PQueue({ concurrency })
    this.#perOrigin = Dispatcher.connectionsPerOrigin(concurrency)
    this.#retryCap = Math.max(1, Math.floor(concurrency / 2))
    this.#minClaim = Math.min(MIN_CLAIM, Math.ceil(concurrency / 4))
    // A quarter of the slots stay for receivers with nothing in flight (see OriginGate); a row parked for
    // two timeouts is handed back (#tick), well within its lease.
    this.#gate = new OriginGate({
      slots: concurrency, perOrigin: this.#perOrigin, parkCap: 2 * this.#perOrigin, reserve: Math.max(1, Math.floor(concurrency / 4)),
    })
    this.#recorder = new AttemptRecorder(deps.db, deps.settings.health, (postbacks) => {
      for (const postback of postbacks) {
        this.#log.warn({ postbackId: postback.id, reason: postback.reason }, 'postback disabled: its endpoint keeps failing; PATCH {"enabled": true} re-enables it')
      }
    })
    this.#holdCapMs = retryAfterCapMs(deps.settings.retryScheduleMs)
  }

  /** Connections per origin for the shared agent: the same bound the claim loop applies. */
  static connectionsPerOrigin (concurrency: number): number {
    return Math.max(1, Math.ceil(concurrency / 2))
  }

  start (): void {
    if (this.#started || this.#stopping) return
    this.#started = true
    this.#pollTimer = setInterval(() => this.#tick(), this.#settings.pollIntervalMs)
    this.#pollTimer.unref()
    void this.#recoverLocalCrash().finally(() => this.nudge())
  }

  /**
   * A process of this host that died holding leases (a crash, a SIGKILL, a restarted container) would
   * keep its rows until the leases expire, a minute by default; it is known to be gone, so they come
   * back now. What it had in flight may arrive twice: delivery is at least once.
   */
  async #recoverLocalCrash (): Promise<void> {
    try {
      const gone = (await liveHoldersWithPrefix(this.#db, HOST_PREFIX)).filter((holder) => isGoneLocalHolder(holder))
      const released = await releaseHolders(this.#db, gone)
      if (released > 0) this.#log.warn({ released, holders: gone }, 'took back postback deliveries from a process of this host that is gone')
    } catch (err) {
      this.#log.warn({ err }, 'could not look for leases of gone processes; they return when the leases expire')
    }
  }

  /** The poll and wake-ups: retries may have come due and leases may have expired. */
  #tick (): void {
    this.#retriesMaybeDue = true
    const expired = this.#gate.expire(Date.now() - 2 * this.#settings.timeoutMs)
    if (expired.length > 0) this.#handBack(expired)
    this.nudge()
    void this.#refreshHolds()
  }

  /** Holds other instances placed, and the end of those that are over. */
  async #refreshHolds (): Promise<void> {
    try {
      const live = await liveOriginHolds(this.#db)
      const now = Date.now()
      for (const [origin, until] of this.#holds) if (until <= now && !live.has(origin)) this.#holds.delete(origin)
      for (const [origin, until] of live) this.#holds.set(origin, Math.max(until, this.#holds.get(origin) ?? 0))
    } catch (err) {
      this.#log.warn({ err }, 'could not read receivers\' Retry-After holds; this instance keeps its own')
    }
  }

  /** Until when `origin` is held, or null when it is not. */
  #heldUntil (origin: string): number | null {
    if (this.#holds.size === 0) return null
    const until = this.#holds.get(origin)
    if (until === undefined) return null
    if (until > Date.now()) return until
    this.#holds.delete(origin)
    return null
  }

  /**
   * The receiver asked for air: nothing more goes to it until `until`. Rows parked behind it go back to the
   * database to wait, without an attempt; other instances learn of the hold on their next poll.
   */
  #hold (origin: string, until: number): void {
    if ((this.#holds.get(origin) ?? 0) >= until) return
    this.#holds.set(origin, until)
    const parked = this.#gate.drain(origin)
    if (parked.length > 0) this.#defer(parked, until)
    holdOrigin(this.#db, origin, new Date(until)).catch((err: unknown) =>
      this.#log.warn({ err, origin }, 'could not share a receiver\'s Retry-After hold; other instances may still send to it'))
  }

  /** Rows of held receivers: leases back, due when the hold ends, attempts untouched. */
  #defer (rows: readonly Claimed[], until: number): void {
    const ids = rows.map(({ row, lane }) => {
      if (this.#held.delete(row.id) && lane === 'retry') this.#retriesActive -= 1
      return row.id
    })
    const untils = ids.map(() => new Date(until))
    deferClaims(this.#db, this.instanceId, ids, untils)
      .catch((err: unknown) => this.#log.warn({ err, deliveries: ids }, 'could not put back deliveries of a held receiver; their leases expire'))
      .finally(() => this.nudge())
  }

  /** Parked rows that will not be sent here (expired, or of deleted postbacks): their leases go back at once. */
  #handBack (rows: readonly Claimed[]): void {
    const ids = rows.map(({ row, lane }) => {
      this.#held.delete(row.id)
      if (lane === 'retry') this.#retriesActive -= 1
      return row.id
    })
    releaseClaims(this.#db, this.instanceId, ids).catch((err: unknown) =>
      this.#log.warn({ err, deliveries: ids }, 'could not hand back parked deliveries; their leases expire'))
  }

  /** Look for due work now (a NOTIFY arrived, a slot freed, a retry came due). Cheap to call often. */
  nudge (): void {
    if (!this.#started || this.#stopping) return
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    void this.#pump()
  }

  /**
   * Postbacks that were deleted: none of their deliveries this instance holds is sent from now on (their
   * rows are cancelled in the database already). A row claimed before the delete and parked behind its
   * receiver is dropped when its turn comes; one already being sent keeps its own outcome. Remembered for a
   * lease's length, after which no row claimed before the delete can still be held.
   */
  stopPostbacks (postbackIds: readonly number[]): void {
    const now = Date.now()
    for (const [id, at] of this.#stopped) if (now - at > this.leaseMs) this.#stopped.delete(id)
    for (const id of postbackIds) this.#stopped.set(id, now)
  }

  /** Attempts being sent right now: at most POSTBACK_CONCURRENCY. */
  /** Whether the claim loop runs here (the `dispatcher` role); a manual resend works either way. */
  get started (): boolean {
    return this.#started
  }

  get inFlight (): number {
    return this.#sending
  }

  /** Deliveries this instance holds a lease on: parked, being sent, or being recorded. */
  get held (): number {
    return this.#held.size
  }

  async #pump (): Promise<void> {
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        while (!this.#stopping && (await this.#claimOnce())) { /* claim while lanes come back full */ }
      } while (this.#pumpAgain && !this.#stopping)
    } catch (err) {
      // The database is away: the poll tries again; claimed rows stay leased and come back after the lease.
      this.#log.error({ err }, 'claiming postback deliveries failed')
    } finally {
      this.#pumping = false
    }
  }

  /** One claim per lane; true when a lane came back full and all of it went out, so more may be waiting. */
  async #claimOnce (): Promise<boolean> {
    const skipOrigins = this.#gate.crowded()
    if (skipOrigins.length > 0) {
      const wait = this.#lastSkippingClaimAt + SKIPPING_CLAIM_INTERVAL_MS - Date.now()
      if (wait > 0) {
        this.#wakeIn(wait)
        return false
      }
      this.#lastSkippingClaimAt = Date.now()
    }
    let more = false
    const overflow: number[] = []
    for (const lane of ['first', 'retry'] as const) {
      // Retries come due on the clock: look for them on the poll, a wake-up, or while they keep coming.
      if (lane === 'retry' && !this.#retriesMaybeDue) continue
      // First attempts: enough for the free slots and the parked queues behind them, so a slot that frees
      // takes a parked row at once instead of waiting on a claim's round trip (the gate bounds what parks).
      // Rows parked behind crowded receivers do not count: those receivers get no more, and the room is for others.
      const laneRoom = lane === 'first'
        ? 2 * this.#settings.concurrency - this.#held.size + this.#gate.parkedCrowded()
        : Math.min(this.#free(), this.#retryCap - this.#retriesActive)
      const room = Math.min(laneRoom, this.#gate.claimRoom(), MAX_CLAIM)
      if (room <= 0 || this.#stopping) continue
      if (lane === 'first' && this.#deferSmallClaim(room)) continue
      const rows = await claimDue(this.#db, { holder: this.instanceId, leaseMs: this.leaseMs, limit: room, lane, skipOrigins })
      if (lane === 'retry') this.#retriesMaybeDue = rows.length === room
      if (rows.length > 0) await this.#beforeSending()
      let allStarted = true
      for (const row of rows) {
        const admitted = this.#admit(row, lane)
        if (admitted === 'overflow') overflow.push(row.id)
        allStarted &&= admitted === 'start'
      }
      more ||= rows.length === room && allStarted
    }
    // More than the receiver's share: back to the database untouched, for a later pass or another instance.
    if (overflow.length > 0) await releaseClaims(this.#db, this.instanceId, overflow)
    return more && this.#free() > 0
  }

  /**
   * A claim of first attempts costs about as much for one row as for twenty. While enough attempts are in
   * flight to keep sending (each one's end looks again), a small claim waits for room for a batch, but
   * never longer than SMALL_CLAIM_WAIT_MS: the attempts in flight may all be stuck on a slow receiver.
   * Retries are claimed as before: they take free slots at once.
   */
  #deferSmallClaim (room: number): boolean {
    if (room >= this.#minClaim || this.#sending < this.#minClaim) {
      this.#smallClaimSince = null
      return false
    }
    const now = Date.now()
    this.#smallClaimSince ??= now
    const waited = now - this.#smallClaimSince
    if (waited >= SMALL_CLAIM_WAIT_MS) {
      this.#smallClaimSince = null
      return false
    }
    // Its own timer: the retry wake-up (#wakeIn) also looks for due retries and must not be pushed back.
    if (this.#smallClaimTimer === null) {
      this.#smallClaimTimer = setTimeout(() => {
        this.#smallClaimTimer = null
        this.nudge()
      }, SMALL_CLAIM_WAIT_MS - waited)
      this.#smallClaimTimer.unref()
    }
    return true
  }

  #free (): number {
    return this.#settings.concurrency - this.#sending
  }

  #admit (row: ClaimedDelivery, lane: Lane): 'start' | 'park' | 'overflow' | 'deferred' {
    if (row.previous_holder !== null) {
      this.#log.warn({ deliveryId: row.id, previousHolder: row.previous_holder }, 'recovered a postback delivery whose lease expired')
    }
    // Deleted between the claim and now: handed back at once, as an overflow is (its row is cancelled).
    if (this.#stopped.has(row.postback_id)) return 'overflow'
    const claimed: Claimed = { row, lane, origin: originKey(row.url) }
    const heldUntil = this.#heldUntil(claimed.origin)
    if (heldUntil !== null) {
      this.#defer([claimed], heldUntil)
      return 'deferred'
    }
    const admitted = this.#gate.admit(claimed.origin, claimed)
    if (admitted === 'overflow') return admitted
    this.#held.add(row.id)
    if (lane === 'retry') this.#retriesActive += 1
    if (admitted === 'start') this.#send(claimed)
    return admitted
  }

  #send (claimed: Claimed): void {
    this.#sending += 1
    const { row } = claimed
    // A slot is the HTTP attempt alone. Recording it waits for the recorder's next batch, and a slot held
    // through that wait kept about a quarter of the receiver's share idle in a backlog.
    void this.#queue
      .add(() => this.sender.send({ method: row.method, url: row.url, body: row.body, deliveryId: row.id, signingKeys: row.signing_keys }, this.#inFlight), {
        // First attempts jump ahead of retries should the queue ever hold both.
        priority: claimed.lane === 'first' ? 1 : 0,
      })
      .then((outcome) => this.#answered(claimed, outcome))
      // Only a bug lands here (send never throws): logged, the row stays leased and comes back after its lease.
      .catch((err: unknown) => this.#log.error({ err, deliveryId: row.id }, 'a postback attempt could not be finished'))
  }

  /** The receiver answered (or the attempt failed): free its slot, hand the outcome to the recorder. */
  #answered ({ row, lane, origin }: Claimed, outcome: AttemptOutcome): void {
    this.#sending -= 1
    if (lane === 'retry') this.#retriesActive -= 1
    // A receiver that asked for air holds back its origin's other deliveries (capped like the delivery's own
    // wait), before its freed slot could start a parked one.
    const askedMs = outcome.retryAfterMs == null ? 0 : Math.min(outcome.retryAfterMs, this.#holdCapMs)
    if (askedMs > 0 && !this.#stopping) this.#hold(origin, Date.now() + askedMs)
    // The receiver's slot frees as soon as it answered: a parked row to it takes the slot at once.
    this.#gate.release(origin, outcome.httpCode !== null)
    if (!this.#stopping) this.#startParked()
    this.nudge()
    // Cut short by shutdown, it is no answer from the receiver: it stays held, and close() releases it.
    if (this.#cutShort && !outcome.ok) return
    // Handed to the recorder now, synchronously: close() waits for the queue, then for the recorder.
    void this.#record(row, outcome, this.#decide(outcome, row.final_attempt ? null : row.attempts + 1, askedMs))
  }

  /** Freed slots go to the parked rows that waited longest; those of deleted postbacks are handed back unsent. */
  #startParked (): void {
    const dropped: Claimed[] = []
    for (let next = this.#gate.takeNext(); next !== undefined; next = this.#gate.takeNext()) {
      const heldUntil = this.#heldUntil(next.origin)
      if (this.#stopped.has(next.item.row.postback_id)) {
        this.#gate.release(next.origin, null)
        dropped.push(next.item)
      } else if (heldUntil !== null) {
        // Held by another instance's receiver answer, learnt after this row parked.
        this.#gate.release(next.origin, null)
        this.#defer([next.item], heldUntil)
      } else {
        this.#send(next.item)
      }
    }
    if (dropped.length > 0) this.#handBack(dropped)
  }

  async #record (row: ClaimedDelivery, outcome: AttemptOutcome, decision: AttemptDecision): Promise<void> {
    try {
      const result = await this.#recorder.record({ deliveryId: row.id, holder: this.instanceId, outcome, decision })
      if (!result.recorded) this.#log.warn({ deliveryId: row.id }, 'postback attempt finished after its lease was taken over')
      this.#logOutcome(row.id, outcome, decision, result.n)
      this.onAttempt?.(outcome.durationMs, outcome.refused ? 'refused' : decision.state === 'pending' ? 'retry' : decision.state)
      if (decision.retryInMs !== null) this.#wakeIn(decision.retryInMs)
    } catch (err) {
      // Still leased: the lease expiry brings it back, at least once.
      this.#log.error({ err, deliveryId: row.id }, 'recording a postback attempt failed')
    } finally {
      this.#held.delete(row.id)
      // A held row counts against the claim's room until it is recorded: its room is free only now.
      this.nudge()
    }
  }

  /**
   * `attemptsMade` null: a redelivery's one more attempt, which no retry follows. `askedMs`: the receiver's
   * Retry-After, capped; the next attempt comes no earlier.
   */
  #decide (outcome: AttemptOutcome, attemptsMade: number | null, askedMs = 0): AttemptDecision {
    // A delivery cancelled (its postback deleted) while this attempt was under way keeps the attempt's own
    // outcome when the attempt reached the receiver and settled it; one refused before sending, or that would
    // be retried, stays cancelled.
    if (outcome.ok) return { state: 'delivered', retryInMs: null, keepCancelled: false }
    if (outcome.refused) return { state: 'failed', retryInMs: null, keepCancelled: true }
    const delay = attemptsMade === null ? null : retryDelayMs(this.#settings.retryScheduleMs, attemptsMade)
    return delay === null
      ? { state: 'failed', retryInMs: null, keepCancelled: false }
      : { state: 'pending', retryInMs: Math.max(delay, askedMs), keepCancelled: true }
  }

  #logOutcome (deliveryId: number, outcome: AttemptOutcome, decision: AttemptDecision, n: number): void {
    // Most attempts log at debug: skip building their fields when nobody reads them.
    if (decision.state !== 'failed' && this.#log.level !== 'debug' && this.#log.level !== 'trace') return
    const fields = { deliveryId, attempt: n, httpCode: outcome.httpCode, ms: outcome.durationMs, error: outcome.error ?? undefined }
    if (decision.state === 'failed') this.#log.warn(fields, 'postback delivery failed for good')
    else this.#log.debug({ ...fields, state: decision.state, retryInMs: decision.retryInMs ?? undefined }, 'postback attempt')
  }

  /** Retries sooner than the poll (short schedules) should not wait for it. */
  #wakeIn (ms: number): void {
    if (this.#stopping || ms >= this.#settings.pollIntervalMs) return
    const at = Date.now() + ms
    if (this.#wake !== null && this.#wake.at <= at) return
    if (this.#wake !== null) clearTimeout(this.#wake.timer)
    const timer = setTimeout(() => {
      this.#wake = null
      this.#tick()
    }, ms + 5)
    timer.unref()
    this.#wake = { at, timer }
  }

  /**
   * A manual resend: one attempt now, whatever the state, outside the schedule and the claim loop.
   * It takes the lease itself, so it never runs beside a scheduled attempt (`busy` instead).
   */
  async resend (deliveryId: number): Promise<'missing' | 'busy' | 'done'> {
    const holder = `${this.instanceId}/resend/${randomUUID().slice(0, 8)}`
    const leased = await leaseOne(this.#db, deliveryId, holder, this.leaseMs)
    if (leased === 'missing' || leased === 'busy') return leased
    // The sender refuses a tracking domain's host (one made after the delivery was rendered) and PUBLIC_URL's
    // origin, as for every scheduled attempt.
    await this.#beforeSending()
    const outcome = await this.sender.send({
      method: leased.method, url: leased.url, body: leased.body, deliveryId: leased.id, signingKeys: await signingKeysOf(this.#db, leased.affiliate_id),
    })
    const decision: AttemptDecision = { state: outcome.ok ? 'delivered' : 'failed', retryInMs: null, keepCancelled: false }
    const result = await this.#recorder.record({ deliveryId, holder, outcome, decision })
    this.#logOutcome(deliveryId, outcome, decision, result.n)
    return 'done'
  }

  /**
   * Stops claiming, lets attempts in flight finish within `graceMs`, cuts the rest short and gives
   * every unfinished claim back so another instance (or the next start) sends it at once.
   */
  async close (graceMs: number): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    if (this.#pollTimer !== null) clearInterval(this.#pollTimer)
    if (this.#wake !== null) clearTimeout(this.#wake.timer)
    if (this.#smallClaimTimer !== null) clearTimeout(this.#smallClaimTimer)
    const finished = await settleWithin(this.#queue.onIdle(), graceMs)
    if (!finished) {
      this.#cutShort = true
      for (const attempt of this.#inFlight) attempt.cancel()
      await settleWithin(this.#queue.onIdle(), 2_000)
    }
    // The last answers reach #answered, and so the recorder, in microtasks after the queue went idle.
    await new Promise(setImmediate)
    await settleWithin(this.#recorder.idle(), 5_000)
    const unfinished = [...this.#held]
    if (unfinished.length > 0) {
      try {
        const released = await releaseClaims(this.#db, this.instanceId, unfinished)
        this.#log.info({ released }, 'released unfinished postback deliveries for another instance')
      } catch (err) {
        this.#log.error({ err, unfinished: unfinished.length }, 'could not release postback claims; they return when their lease expires')
      }
    }
    if (!(await settleWithin(this.sender.close(), 1_000))) await this.sender.agent.destroy().catch(() => {})
  }
}

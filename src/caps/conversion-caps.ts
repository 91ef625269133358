import type { Db } from '../db/database.js'
import {
  CAP_IS_REACHED, capApplies, conversionCounterKeys, conversionIncrement, counterKey, judgeConversion, type Cap, type DeclineReason,
} from '../domain/caps.js'
import type { ConversionStatus } from '../domain/statuses.js'
import { amountFromDb, type Amount } from '../domain/money.js'
import { addToCounters, lockConversionCounters, offerCounterText, type OfferCounterKey } from './repository.js'

/** A new conversion as the caps judge it: the offer's caps and the time the periods are read at. */
export interface CappedConversion {
  offer_id: number
  affiliate_id: number
  goal: string
  status: ConversionStatus
  payout: string
  decline_reason: DeclineReason | null
  hold_until: Date | null
}

export interface CapContext {
  caps: readonly Cap[]
  at: Date
}

export interface CapJudgement<T> {
  /** The values to insert: those past a cap declined with `Cap is reached`. */
  values: T[]
  /** What each conversion adds to its counters if it is created (none for declined ones). */
  increments: { key: OfferCounterKey; amount: Amount }[][]
}

/**
 * What a batch would add to its counters were every conversion in it created and counted: the check the
 * statement that inserts the batch makes against the counters it locks (see insertConversions).
 */
export interface CapPlan {
  /**
   * The distinct counters the batch touches, in one fixed order (offerCounterText), each with the lowest limit
   * among the caps counting in it and the total the batch adds to it.
   */
  counters: { key: OfferCounterKey; limit: Amount; total: Amount }[]
  /** What each conversion adds when created: its index in the batch, its counter's index in `counters`. */
  increments: { entry: number; counter: number; amount: Amount }[]
}

/**
 * The plan of a batch, or undefined when none of its conversions meets a conversions or payout cap. When
 * every counter holds its total (used + total <= limit), judging the batch in order declines none of it:
 * the amounts are never negative, so each conversion finds its counters at or below what the whole batch
 * leaves. Otherwise at least one conversion would be declined, and the batch is judged one by one
 * (judgeConversionCaps). Conversions already declined, or of offers without caps, add nothing.
 */
export function planConversionCaps (
  conversions: readonly CappedConversion[], contexts: readonly (CapContext | undefined)[]
): CapPlan | undefined {
  const counters = new Map<string, { key: OfferCounterKey; limit: Amount; total: Amount }>()
  const adds: { entry: number; text: string; amount: Amount }[] = []
  conversions.forEach((conversion, entry) => {
    const context = contexts[entry]
    if (context === undefined || conversion.status === 'declined') return
    let payout: Amount | undefined
    const own = new Set<string>()
    for (const cap of context.caps) {
      if (cap.metric === 'clicks' || !capApplies(cap, conversion.affiliate_id, conversion.goal)) continue
      const key: OfferCounterKey = { ...counterKey(cap, conversion.affiliate_id, context.at), offerId: conversion.offer_id }
      const text = offerCounterText(key)
      const counter = counters.get(text)
      if (counter === undefined) counters.set(text, { key, limit: cap.limit, total: 0n })
      else if (cap.limit < counter.limit) counter.limit = cap.limit
      // Two caps may share a counter (an affiliate's own cap and a per-affiliate one): it is counted once.
      if (own.has(text)) continue
      own.add(text)
      payout ??= amountFromDb(conversion.payout)
      adds.push({ entry, text, amount: conversionIncrement(cap.metric, payout) })
    }
  })
  if (counters.size === 0) return undefined
  const texts = [...counters.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const index = new Map(texts.map((text, i) => [text, i]))
  const increments = adds.map((add) => {
    const counter = counters.get(add.text) as { total: Amount }
    counter.total += add.amount
    return { entry: add.entry, counter: index.get(add.text) as number, amount: add.amount }
  })
  return { counters: texts.map((text) => counters.get(text) as { key: OfferCounterKey; limit: Amount; total: Amount }), increments }
}

/**
 * Judges new conversions, in order, against their offers' conversions and payout caps, inside the
 * transaction that will create them: their counters are locked first, so a concurrent transaction (of this
 * instance or another) judges after this one commits and sees what it counted. A conversion already
 * declined (by the advertiser or the click session) neither counts nor is judged.
 */
export async function judgeConversionCaps<T extends CappedConversion> (
  trx: Db, conversions: readonly T[], contexts: readonly (CapContext | undefined)[]
): Promise<CapJudgement<T>> {
  const wanted: OfferCounterKey[] = []
  conversions.forEach((conversion, i) => {
    const context = contexts[i]
    if (context === undefined || conversion.status === 'declined') return
    for (const key of conversionCounterKeys(context.caps, { affiliateId: conversion.affiliate_id, goal: conversion.goal }, context.at)) {
      wanted.push({ ...key, offerId: conversion.offer_id })
    }
  })
  if (wanted.length === 0) return { values: [...conversions], increments: conversions.map(() => []) }
  const locked = await lockConversionCounters(trx, wanted)
  const values: T[] = []
  const increments: { key: OfferCounterKey; amount: Amount }[][] = []
  conversions.forEach((conversion, i) => {
    const context = contexts[i]
    if (context === undefined || conversion.status === 'declined') {
      values.push(conversion)
      increments.push([])
      return
    }
    const used = new Map<string, Amount>()
    for (const [text, amount] of locked) {
      const prefix = `${conversion.offer_id}|`
      if (text.startsWith(prefix)) used.set(text.slice(prefix.length), amount)
    }
    const judgement = judgeConversion(context.caps, used, {
      affiliateId: conversion.affiliate_id, goal: conversion.goal, payout: amountFromDb(conversion.payout),
    }, context.at)
    if (judgement.reached) {
      values.push({ ...conversion, status: 'declined', decline_reason: CAP_IS_REACHED, hold_until: null })
      increments.push([])
      return
    }
    values.push(conversion)
    const own = judgement.increments.map((inc) => ({ key: { ...inc.key, offerId: conversion.offer_id }, amount: inc.amount }))
    // Later conversions of the batch judge against what the earlier ones took.
    for (const inc of own) {
      const text = offerCounterText(inc.key)
      locked.set(text, (locked.get(text) ?? 0n) + inc.amount)
    }
    increments.push(own)
  })
  return { values, increments }
}

/** Adds the increments of the conversions that were created (index by index; undefined: not created). */
export async function countCreated (trx: Db, judgement: CapJudgement<unknown>, created: readonly unknown[]): Promise<void> {
  await addToCounters(trx, judgement.increments.flatMap((incs, i) => (created[i] === undefined ? [] : incs)))
}

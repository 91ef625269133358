import type { Db } from '../db/database.js'
import { CAP_IS_REACHED, conversionCounterKeys, judgeConversion, type Cap, type DeclineReason } from '../domain/caps.js'
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

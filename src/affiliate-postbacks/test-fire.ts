import { randomBytes } from 'node:crypto'
import type { PostbackRow } from '../db/tables.js'
import type { Db } from '../db/database.js'
import { conversionContext } from './context.js'
import type { PostbackSender } from '../dispatch/sender.js'
import { signingKeysOf } from '../dispatch/repository.js'
import { parseAmount } from '../domain/money.js'
import { postbackMacroValues, renderPostbackRequest, type PostbackContext } from '../domain/postback-render.js'
import { ruleViolation } from '../domain/errors.js'
import { findConversionContext, findOfferSummary } from './delivery-repository.js'

/** A conversion that looks like a real one, for a test fire without `conversion_id`. */
async function sampleContext (db: Db, postback: PostbackRow): Promise<PostbackContext> {
  const offer = postback.offer_id === null ? undefined : await findOfferSummary(db, postback.offer_id)
  const now = new Date()
  return {
    conversionId: 0,
    clickid: randomBytes(12).toString('hex'),
    pid: postback.affiliate_id,
    offerId: offer?.id ?? 0,
    offerName: offer?.title ?? 'Sample offer',
    goal: postback.goal ?? '1',
    actionId: `test-${randomBytes(4).toString('hex')}`,
    payout: parseAmount('1.5') as bigint,
    currency: offer?.currency ?? 'USD',
    sum: parseAmount('10') as bigint,
    orderCurrency: offer?.currency ?? 'USD',
    status: postback.status === 'any' || postback.status === 'created' ? 'approved' : postback.status,
    conversionTime: now,
    clickTime: new Date(now.getTime() - 3_600_000),
    ip: '203.0.113.10',
    userAgent: 'Mozilla/5.0 (s2s-tracker test fire)',
    country: 'US',
    comment: 'test fire',
    customFields: { custom_field1: 'sample' },
    clickParams: { sub1: 'sample-sub1', sub2: 'sample-sub2' },
    declineReason: null,
  }
}

/** Renders a postback for one of its affiliate's conversions, or a sample one, and sends it once. */
export async function testFire (db: Db, sender: PostbackSender, postback: PostbackRow, conversionId: number | undefined) {
  let context: PostbackContext
  if (conversionId === undefined) {
    context = await sampleContext(db, postback)
  } else {
    const row = await findConversionContext(db, conversionId)
    const fits = row !== undefined && row.affiliate_id === postback.affiliate_id &&
      (postback.offer_id === null || row.offer_id === postback.offer_id)
    if (!fits) {
      throw ruleViolation(
        postback.offer_id === null
          ? 'conversion_id must be a conversion of the postback\'s affiliate'
          : 'conversion_id must be a conversion of the postback\'s affiliate on the postback\'s offer',
        '/conversion_id'
      )
    }
    context = conversionContext(row, row.status)
  }
  const rendered = renderPostbackRequest(postback.url, postback.method, postbackMacroValues(context))
  const outcome = await sender.send({ ...rendered, deliveryId: null, signingKeys: await signingKeysOf(db, postback.affiliate_id) })
  return {
    method: rendered.method,
    url: rendered.url,
    body: rendered.body,
    http_code: outcome.httpCode,
    response_body: outcome.responseBody,
    duration_ms: outcome.durationMs,
    error: outcome.error,
  }
}

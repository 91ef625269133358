import type { NewConversion } from '../../src/conversions/repository.js'

// A conversion row as intake writes it, for tests and benchmarks that put conversions straight into the
// database. Only the service's own types are imported, so bench/ can use it as well.

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
    ...fields,
  }
}

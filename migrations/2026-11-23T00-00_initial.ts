import { sql, type Kysely } from 'kysely'

// The whole first schema. Frozen once released: later changes go in new, later-dated files.
// Money is numeric(18,4) everywhere. High-volume tables (clicks, conversions, deliveries) use bigint ids.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('admin_api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('advertisers')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('secure_code', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('tracking_domains')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('allow_http', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('allow_https', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create unique index tracking_domains_hostname_key on tracking_domains (lower(hostname))`.execute(db)
  // At most one default domain, guaranteed by the database.
  await sql`create unique index tracking_domains_one_default on tracking_domains (is_default) where is_default`.execute(db)

  await db.schema
    .createTable('offers')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('advertiser_id', 'integer', (c) => c.notNull().references('advertisers.id').onDelete('restrict'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('trafficback_url', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('tracking_domain_id', 'integer', (c) => c.references('tracking_domains.id').onDelete('restrict'))
    .addColumn('currency', 'text', (c) => c.notNull().defaultTo('USD'))
    .addColumn('default_conversion_status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('allow_duplicate_conversions', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('probabilistic_attribution', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('secure_code', 'text')
    .addColumn('hold_period_days', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('offers_advertiser_id').on('offers').column('advertiser_id').execute()
  await db.schema.createIndex('offers_tracking_domain_id').on('offers').column('tracking_domain_id').execute()

  await db.schema
    .createTable('offer_goals')
    .addColumn('offer_id', 'integer', (c) => c.notNull().references('offers.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('revenue', sql`numeric(18,4)`, (c) => c.notNull())
    .addColumn('payout', sql`numeric(18,4)`, (c) => c.notNull())
    .addPrimaryKeyConstraint('offer_goals_pkey', ['offer_id', 'position'])
    .execute()
  await sql`create unique index offer_goals_value_key on offer_goals (offer_id, lower(value))`.execute(db)

  await db.schema
    .createTable('affiliates')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('api_key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create unique index affiliates_email_key on affiliates (lower(email))`.execute(db)

  await db.schema
    .createTable('tracking_links')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('offer_id', 'integer', (c) => c.notNull().references('offers.id').onDelete('restrict'))
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id').onDelete('restrict'))
    .addColumn('tracking_domain_id', 'integer', (c) => c.references('tracking_domains.id').onDelete('restrict'))
    .addColumn('use_ssl', 'boolean', (c) => c.notNull())
    .addColumn('params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('params_key', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('short_code', 'text', (c) => c.unique())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // A link is identified by (offer, affiliate, domain, params); "no domain" (PUBLIC_URL) counts as one value.
  await sql`create unique index tracking_links_identity on tracking_links (offer_id, affiliate_id, coalesce(tracking_domain_id, 0), params_key)`.execute(db)
  await db.schema.createIndex('tracking_links_affiliate').on('tracking_links').columns(['affiliate_id', 'offer_id']).execute()

  // Clicks are append-only and the largest table. The primary key is (clickid) so conversions find their
  // click in one index probe. To partition by time later, switch to PARTITION BY RANGE (created_at) with
  // monthly partitions and a primary key of (clickid, created_at); click ids embed no time, so intake
  // then looks up by clickid across partitions (still an index probe each) — see README "Scaling clicks".
  await db.schema
    .createTable('clicks')
    .addColumn('clickid', 'text', (c) => c.primaryKey())
    .addColumn('offer_id', 'integer', (c) => c.notNull())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull())
    .addColumn('tracking_link_id', 'integer')
    .addColumn('params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('referrer', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('clicks_created').on('clicks').columns(['created_at desc', 'clickid desc']).execute()
  await db.schema.createIndex('clicks_offer_created').on('clicks').columns(['offer_id', 'created_at desc']).execute()
  await db.schema.createIndex('clicks_affiliate_created').on('clicks').columns(['affiliate_id', 'created_at desc']).execute()

  await db.schema
    .createTable('conversions')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('clickid', 'text')
    .addColumn('offer_id', 'integer', (c) => c.notNull().references('offers.id').onDelete('restrict'))
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id').onDelete('restrict'))
    .addColumn('goal', 'text', (c) => c.notNull())
    .addColumn('action_id', 'text')
    // Set to the click id only when the click-id uniqueness key applies (no action_id, duplicates not allowed).
    .addColumn('click_dedup_key', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('integration_method', 'text', (c) => c.notNull().defaultTo('default'))
    .addColumn('sum', sql`numeric(18,4)`)
    .addColumn('revenue', sql`numeric(18,4)`, (c) => c.notNull())
    .addColumn('payout', sql`numeric(18,4)`, (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('order_currency', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('comment', 'text')
    .addColumn('custom_fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('country', 'text')
    .addColumn('click_params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('click_created_at', 'timestamptz')
    .addColumn('hold_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create unique index conversions_action_key on conversions (offer_id, lower(goal), action_id) where action_id is not null`.execute(db)
  await sql`create unique index conversions_click_key on conversions (offer_id, lower(goal), click_dedup_key) where click_dedup_key is not null`.execute(db)
  await db.schema.createIndex('conversions_clickid').on('conversions').column('clickid').execute()
  await db.schema.createIndex('conversions_offer').on('conversions').columns(['offer_id', 'id']).execute()
  await db.schema.createIndex('conversions_affiliate').on('conversions').columns(['affiliate_id', 'id']).execute()
  await db.schema.createIndex('conversions_updated').on('conversions').columns(['updated_at', 'id']).execute()
  await sql`create index conversions_hold_due on conversions (hold_until) where status = 'hold' and hold_until is not null`.execute(db)

  // One row per conversion creation or status change: the status history and the dispatcher's input.
  await db.schema
    .createTable('conversion_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('conversion_id', 'bigint', (c) => c.notNull().references('conversions.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('conversion_events_conversion').on('conversion_events').columns(['conversion_id', 'id']).execute()

  await db.schema
    .createTable('server_postbacks')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('params', 'jsonb', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('conversion_id', 'bigint')
    .addColumn('offer_id', 'integer')
    .addColumn('clickid', 'text')
    .execute()
  await db.schema.createIndex('server_postbacks_offer').on('server_postbacks').columns(['offer_id', 'id']).execute()
  await db.schema.createIndex('server_postbacks_clickid').on('server_postbacks').column('clickid').execute()

  await db.schema
    .createTable('postbacks')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id').onDelete('restrict'))
    .addColumn('offer_id', 'integer', (c) => c.references('offers.id').onDelete('restrict'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull().defaultTo('GET'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('any'))
    .addColumn('goal', 'text')
    .addColumn('integration_method', 'text', (c) => c.notNull().defaultTo('all'))
    .addColumn('force_global', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('postbacks_affiliate_offer').on('postbacks').columns(['affiliate_id', 'offer_id']).execute()
  await db.schema.createIndex('postbacks_offer').on('postbacks').column('offer_id').execute()

  // postback_id carries no foreign key: deleting a postback cancels its pending deliveries, the log stays.
  await db.schema
    .createTable('postback_deliveries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('postback_id', 'integer', (c) => c.notNull())
    .addColumn('conversion_id', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_http_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'timestamptz')
    // Lease: a claimed delivery is invisible to other claimers until locked_until passes.
    .addColumn('locked_until', 'timestamptz')
    .addColumn('locked_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('postback_deliveries_event_postback', ['event_id', 'postback_id'])
    .execute()
  await sql`create index postback_deliveries_due on postback_deliveries (next_attempt_at, id) where state = 'pending'`.execute(db)
  await db.schema.createIndex('postback_deliveries_conversion').on('postback_deliveries').column('conversion_id').execute()
  await db.schema.createIndex('postback_deliveries_postback').on('postback_deliveries').columns(['postback_id', 'state']).execute()
  await db.schema.createIndex('postback_deliveries_affiliate').on('postback_deliveries').columns(['affiliate_id', 'id']).execute()

  await db.schema
    .createTable('postback_attempts')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('postback_deliveries.id').onDelete('cascade'))
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('http_code', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('response_body', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error', 'text')
    .execute()
  await db.schema.createIndex('postback_attempts_delivery').on('postback_attempts').columns(['delivery_id', 'n']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'postback_attempts', 'postback_deliveries', 'postbacks', 'server_postbacks', 'conversion_events',
    'conversions', 'clicks', 'tracking_links', 'affiliates', 'offer_goals', 'offers', 'tracking_domains',
    'advertisers', 'admin_api_keys',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}

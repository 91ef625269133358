import { sql, type Kysely, type RawBuilder } from 'kysely'

/** A rollup row's conversion figures. Sums of numeric(18,4) amounts are unbounded numeric: no total overflows. */
const CONVERSION_FIGURES = sql.raw(`conversions bigint not null, approved bigint not null, pending bigint not null,
    declined bigint not null, hold bigint not null, revenue numeric not null, payout numeric not null,
    pending_revenue numeric not null, pending_payout numeric not null`)

/** What signed conversion rows (n = 1 counts one, n = -1 takes one back) add to a cell, in CONVERSION_FIGURES order. */
const CONVERSION_SUMS = sql.raw(`sum(n), coalesce(sum(n) filter (where status = 'approved'), 0),
  coalesce(sum(n) filter (where status = 'pending'), 0), coalesce(sum(n) filter (where status = 'declined'), 0),
  coalesce(sum(n) filter (where status = 'hold'), 0),
  coalesce(sum(n * revenue) filter (where status = 'approved'), 0), coalesce(sum(n * payout) filter (where status = 'approved'), 0),
  coalesce(sum(n * revenue) filter (where status in ('pending', 'hold')), 0),
  coalesce(sum(n * payout) filter (where status in ('pending', 'hold')), 0)`)

const CONVERSION_COLUMNS = sql.raw('conversions, approved, pending, declined, hold, revenue, payout, pending_revenue, pending_payout')

const ADD_CONVERSION_FIGURES = sql.raw(`conversions = s.conversions + excluded.conversions, approved = s.approved + excluded.approved,
  pending = s.pending + excluded.pending, declined = s.declined + excluded.declined, hold = s.hold + excluded.hold,
  revenue = s.revenue + excluded.revenue, payout = s.payout + excluded.payout,
  pending_revenue = s.pending_revenue + excluded.pending_revenue, pending_payout = s.pending_payout + excluded.pending_payout`)

/**
 * True when a row created at or after `oldest` falls before a zone's fold: only then does a write add to a daily
 * tier itself (a click written late, a status change of a conversion already folded). Checked before the daily
 * statement, which a batch of new traffic then skips.
 */
const DAILY_TIER_REACHED = (oldest: RawBuilder<unknown>) => sql`exists (select 1 from stats_zones where folded_until > (${oldest}))`

/**
 * The statements that add signed conversion rows (`delta`) to the rollup tiers, the 15-minute tier first; the
 * daily tiers' only when a row created at or after `oldest` may reach them.
 */
function countConversions (delta: RawBuilder<unknown>, oldest: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`with delta as (${delta})
        insert into stats_conversions as s (bucket, offer_id, affiliate_id, goal, currency, ${CONVERSION_COLUMNS})
        select date_bin('15 minutes', created_at, timestamptz '2000-01-01 00:00:00+00'), offer_id, affiliate_id, goal, currency, ${CONVERSION_SUMS}
        from delta group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
        on conflict (bucket, offer_id, affiliate_id, goal, currency) do update set ${ADD_CONVERSION_FIGURES};
        if ${DAILY_TIER_REACHED(oldest)} then
        with delta as (${delta})
        insert into stats_daily_conversions as s (zone, day, offer_id, affiliate_id, goal, currency, ${CONVERSION_COLUMNS})
        select z.zone, (d.created_at at time zone z.zone)::date, g.offer_id, g.affiliate_id, d.goal, d.currency, ${CONVERSION_SUMS}
        from delta d join stats_zones z on d.created_at >= z.since and d.created_at < z.folded_until
          cross join lateral (values (d.offer_id, 0), (0, d.affiliate_id)) g (offer_id, affiliate_id)
        group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
        on conflict (zone, day, offer_id, affiliate_id, goal, currency) do update set ${ADD_CONVERSION_FIGURES};
        end if;`
}

/**
 * The schema. Frozen from the first release on: later changes go in new, later-dated files beside this one.
 *
 * Money is numeric(18,4). High-volume tables (clicks, conversions, deliveries) have bigint ids. Every status
 * column is checked against the values the API documents, so no code path can store another.
 */
const SCHEMA: RawBuilder<unknown>[] = [
  sql`create table admin_api_keys (
    id integer generated always as identity primary key,
    key_hash text not null unique,
    created_at timestamptz not null default now())`,

  sql`create table advertisers (
    id integer generated always as identity primary key,
    name text not null,
    status text not null default 'active' check (status in ('active', 'inactive')),
    secure_code text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now())`,

  sql`create table tracking_domains (
    id integer generated always as identity primary key,
    hostname text not null,
    allow_http boolean not null default true,
    allow_https boolean not null default true,
    is_default boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now())`,
  sql`create unique index tracking_domains_hostname_key on tracking_domains (lower(hostname))`,
  // At most one default domain.
  sql`create unique index tracking_domains_one_default on tracking_domains (is_default) where is_default`,

  sql`create table offers (
    id integer generated always as identity primary key,
    advertiser_id integer not null references advertisers (id) on delete restrict,
    title text not null,
    url text not null,
    trafficback_url text,
    status text not null default 'active' check (status in ('active', 'paused', 'stopped')),
    tracking_domain_id integer references tracking_domains (id) on delete restrict,
    currency text not null default 'USD',
    default_conversion_status text not null default 'pending' check (default_conversion_status in ('approved', 'pending', 'hold')),
    allow_duplicate_conversions boolean not null default false,
    probabilistic_attribution boolean not null default false,
    secure_code text,
    hold_period_days integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    change_xid xid8 not null default pg_current_xact_id())`,
  sql`create index offers_advertiser_id on offers (advertiser_id)`,
  sql`create index offers_tracking_domain_id on offers (tracking_domain_id)`,

  sql`create table offer_goals (
    offer_id integer not null references offers (id) on delete cascade,
    position integer not null,
    value text not null,
    title text not null,
    type text not null check (type in ('fixed', 'percent')),
    revenue numeric(18,4) not null,
    payout numeric(18,4) not null,
    constraint offer_goals_pkey primary key (offer_id, position))`,
  sql`create unique index offer_goals_value_key on offer_goals (offer_id, lower(value))`,

  sql`create table affiliates (
    id integer generated always as identity primary key,
    name text not null,
    email text not null,
    status text not null default 'active' check (status in ('active', 'inactive', 'banned')),
    api_key_hash text not null unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    change_xid xid8 not null default pg_current_xact_id())`,
  sql`create unique index affiliates_email_key on affiliates (lower(email))`,

  sql`create table tracking_links (
    id integer generated always as identity primary key,
    offer_id integer not null references offers (id) on delete restrict,
    affiliate_id integer not null references affiliates (id) on delete restrict,
    tracking_domain_id integer references tracking_domains (id) on delete restrict,
    use_ssl boolean not null,
    params jsonb not null default '{}'::jsonb,
    params_key text not null,
    url text not null,
    short_code text unique,
    sent_at timestamptz,
    created_at timestamptz not null default now(),
    change_xid xid8 not null default pg_current_xact_id())`,
  // A link is identified by (offer, affiliate, domain, params); "no domain" (PUBLIC_URL) counts as one value.
  sql`create unique index tracking_links_identity on tracking_links (offer_id, affiliate_id, coalesce(tracking_domain_id, 0), params_key)`,
  sql`create index tracking_links_affiliate on tracking_links (affiliate_id, offer_id)`,

  // Append-only and the largest table, kept in one partition per calendar month (UTC) of the click's time, so
  // retention drops a month at once and each index stays the size of a month. The service makes partitions
  // ahead of time (src/clicks/partitions.ts). A click id starts with its click's second (contract §1), so
  // intake probes the primary key of the one partition that second names: created_at is always within the
  // second of the id (both come from one clock reading).
  sql`create table clicks (
    clickid text not null,
    offer_id integer not null,
    affiliate_id integer not null,
    tracking_link_id integer,
    params jsonb not null default '{}'::jsonb,
    ip text not null,
    user_agent text not null default '',
    referrer text,
    created_at timestamptz not null,
    primary key (clickid, created_at)) partition by range (created_at)`,
  // The click list (newest first, also with created_from/created_to), and its offer and affiliate filters.
  sql`create index clicks_created on clicks (created_at desc, clickid desc)`,
  sql`create index clicks_offer_created on clicks (offer_id, created_at desc)`,
  sql`create index clicks_affiliate_created on clicks (affiliate_id, created_at desc)`,

  sql`create table conversions (
    id bigint generated always as identity primary key,
    clickid text,
    offer_id integer not null references offers (id) on delete restrict,
    affiliate_id integer not null references affiliates (id) on delete restrict,
    goal text not null,
    action_id text,
    -- The click id, only where the one-conversion-per-click key applies (no action_id, duplicates not allowed).
    click_dedup_key text,
    status text not null check (status in ('approved', 'pending', 'declined', 'hold')),
    integration_method text not null default 'default' check (integration_method in ('default', 'probabilistic')),
    sum numeric(18,4),
    revenue numeric(18,4) not null,
    payout numeric(18,4) not null,
    currency text not null,
    order_currency text,
    ip text,
    user_agent text,
    comment text,
    custom_fields jsonb not null default '{}'::jsonb,
    country text,
    click_params jsonb not null default '{}'::jsonb,
    click_created_at timestamptz,
    hold_until timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now())`,
  // Each index of the high-volume tables says what it serves; none is kept for a query that does not exist.
  // De-duplication (§4.2), judged by the database at insert: one conversion per (offer, goal, action_id), and
  // one per (offer, goal, click) where duplicates are not allowed. Also the exact lookup intake makes for both.
  sql`create unique index conversions_action_key on conversions (offer_id, lower(goal), action_id) where action_id is not null`,
  sql`create unique index conversions_click_key on conversions (offer_id, lower(goal), click_dedup_key) where click_dedup_key is not null`,
  // `GET /v1/conversions?clickid=` (which conversions a click made); conversions without a click stay out.
  sql`create index conversions_clickid on conversions (clickid) where clickid is not null`,
  // The list newest first with `offer_id`, and with `affiliate_id` (every affiliate panel's own list).
  sql`create index conversions_offer on conversions (offer_id, id)`,
  sql`create index conversions_affiliate on conversions (affiliate_id, id)`,
  // The sync feed (`updated_since`, in update order): the one index a status change rewrites.
  sql`create index conversions_updated on conversions (updated_at, id)`,
  // Hold expiry's due rows: only conversions on hold, a small fraction.
  sql`create index conversions_hold_due on conversions (hold_until) where status = 'hold' and hold_until is not null`,

  // One row per creation or status change of a conversion: its history, and what postbacks fire for.
  sql`create table conversion_events (
    id bigint generated always as identity primary key,
    conversion_id bigint not null references conversions (id) on delete cascade,
    kind text not null check (kind in ('created', 'status_changed')),
    from_status text check (from_status in ('approved', 'pending', 'declined', 'hold')),
    to_status text not null check (to_status in ('approved', 'pending', 'declined', 'hold')),
    source text not null check (source in ('advertiser', 'admin', 'hold_expiry')),
    created_at timestamptz not null default now())`,
  // A conversion's history in order (its detail, the list's events). Enqueueing reads events by id.
  sql`create index conversion_events_conversion on conversion_events (conversion_id, id)`,

  // The advertiser postback log: every /postback call, accepted or not.
  sql`create table server_postbacks (
    id bigint generated always as identity primary key,
    received_at timestamptz not null default now(),
    method text not null check (method in ('GET', 'POST')),
    params jsonb not null,
    result text not null check (result in ('accepted', 'rejected')),
    http_status integer not null,
    detail text,
    conversion_id bigint,
    offer_id integer,
    clickid text)`,
  // `GET /v1/server-postbacks?offer_id=` and `?clickid=`, what an advertiser's integration is debugged with;
  // calls that named no known offer or no click stay out. The list itself and retention walk the primary key.
  sql`create index server_postbacks_offer on server_postbacks (offer_id, id) where offer_id is not null`,
  sql`create index server_postbacks_clickid on server_postbacks (clickid) where clickid is not null`,

  sql`create table postbacks (
    id integer generated always as identity primary key,
    affiliate_id integer not null references affiliates (id) on delete restrict,
    offer_id integer references offers (id) on delete restrict,
    url text not null,
    method text not null default 'GET' check (method in ('GET', 'POST')),
    status text not null default 'any' check (status in ('any', 'created', 'approved', 'pending', 'declined', 'hold')),
    goal text,
    integration_method text not null default 'all' check (integration_method in ('all', 'default', 'probabilistic')),
    force_global boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- Endpoint health (§5.7), kept by the statement that records a batch of attempts. disabled_at set: the
    -- postback fires nothing new, and events that would fire it write a delivery in state 'skipped'.
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    -- When the current run of failed deliveries began: POSTBACK_DISABLE_MIN_AGE is measured from it.
    failing_since timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    disabled_at timestamptz,
    disabled_reason text)`,
  sql`create index postbacks_affiliate_offer on postbacks (affiliate_id, offer_id)`,
  sql`create index postbacks_offer on postbacks (offer_id)`,
  // Serves `?health=failing|disabled` on the lists: few postbacks ever match, so the partial index stays tiny.
  sql`create index postbacks_unhealthy on postbacks (id) where disabled_at is not null or consecutive_failures > 0`,

  // postback_id has no foreign key: deleting a postback cancels its pending deliveries and the log stays.
  // A claim sets only the lease columns, which no index holds: the 30% left free on each page lets it write
  // the new row version beside the old one without touching the indexes (a HOT update).
  sql`create table postback_deliveries (
    id bigint generated always as identity primary key,
    postback_id integer not null,
    conversion_id bigint not null,
    event_id bigint not null,
    affiliate_id integer not null,
    method text not null check (method in ('GET', 'POST')),
    url text not null,
    body text,
    state text not null default 'pending' check (state in ('pending', 'delivered', 'failed', 'cancelled', 'skipped')),
    attempts integer not null default 0,
    last_http_code integer,
    last_error text,
    next_attempt_at timestamptz,
    -- The lease: a claimed delivery is invisible to other claimers until locked_until passes.
    locked_until timestamptz,
    locked_by text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    delivered_at timestamptz,
    constraint postback_deliveries_event_postback unique (event_id, postback_id))
    with (fillfactor = 70)`,
  // The dispatcher's claim: pending rows in due order, and only those (delivered history never enters it).
  sql`create index postback_deliveries_due on postback_deliveries (next_attempt_at, id) where state = 'pending'`,
  // `?conversion_id=` on the delivery log: what a conversion fired.
  sql`create index postback_deliveries_conversion on postback_deliveries (conversion_id)`,
  // `?postback_id=` (with `state`), the cancelling of a deleted postback's pending rows, and, with id last, a
  // redelivery walking one postback's failed rows in id order, a batch at a time (§5.6).
  sql`create index postback_deliveries_postback on postback_deliveries (postback_id, state, id)`,
  // The affiliate panel's own log, newest first, and `?affiliate_id=`.
  sql`create index postback_deliveries_affiliate on postback_deliveries (affiliate_id, id)`,

  sql`create table postback_attempts (
    id bigint generated always as identity primary key,
    delivery_id bigint not null references postback_deliveries (id) on delete cascade,
    n integer not null,
    at timestamptz not null,
    http_code integer,
    duration_ms integer not null,
    response_body text not null default '',
    error text)`,
  // A delivery's attempt log in order, and the cascade when retention drops the delivery.
  sql`create index postback_attempts_delivery on postback_attempts (delivery_id, n)`,

  // Every instance keeps a replica of what click validation reads (offers, affiliates, links with a short
  // code) and follows changes by polling, so clicks redirect while the database is away. Each row carries the
  // transaction that last wrote it (change_xid, set by a trigger). A poller that took its snapshot's xmin
  // (every transaction below it had finished) before its previous read needs only rows with change_xid at or
  // above it: unlike a timestamp or a sequence, this misses no change that commits after a later one, and no
  // application clock is involved. Deleted offers and affiliates leave a row in click_replica_deletions.
  sql`create function click_replica_stamp() returns trigger language plpgsql as $$
    begin
      new.change_xid := pg_current_xact_id();
      return new;
    end
    $$`,
  ...['offers', 'affiliates', 'tracking_links'].map((table) => sql`
    create trigger ${sql.id(`${table}_click_replica_stamp`)} before insert or update on ${sql.table(table)}
    for each row execute function click_replica_stamp()`),
  sql`create index offers_change_xid on offers (change_xid)`,
  sql`create index affiliates_change_xid on affiliates (change_xid)`,
  sql`create index tracking_links_short_change_xid on tracking_links (change_xid) where short_code is not null`,
  sql`create table click_replica_deletions (
    kind text not null check (kind in ('offer', 'affiliate')),
    id integer not null,
    change_xid xid8 not null default pg_current_xact_id())`,
  sql`create index click_replica_deletions_change_xid on click_replica_deletions (change_xid)`,
  sql`create function click_replica_record_deletion() returns trigger language plpgsql as $$
    begin
      insert into click_replica_deletions (kind, id) values (tg_argv[0], old.id);
      return null;
    end
    $$`,
  ...[['offers', 'offer'], ['affiliates', 'affiliate']].map(([table, kind]) => sql`
    create trigger ${sql.id(`${table}_click_replica_deletion`)} after delete on ${sql.table(table as string)}
    for each row execute function click_replica_record_deletion(${sql.lit(kind)})`),

  // Intake caches offers (with goals and the secure code in force) and affiliate statuses. A notification
  // can arrive after the change it announces; this version cannot: every statement that changes offers,
  // goals, advertisers or affiliates bumps it in its own transaction, intake reads it with the click, and
  // drops its cache whenever a change it could have missed is visible.
  sql`create table intake_catalog_version (id integer primary key check (id = 1), version bigint not null)`,
  sql`insert into intake_catalog_version (id, version) values (1, 0)`,
  sql`create function intake_catalog_bump() returns trigger language plpgsql as $$
    begin
      update intake_catalog_version set version = version + 1 where id = 1;
      return null;
    end
    $$`,
  ...['offers', 'offer_goals', 'advertisers', 'affiliates'].map((table) => sql`
    create trigger ${sql.id(`${table}_intake_catalog_bump`)} after insert or update or delete or truncate on ${sql.table(table)}
    for each statement execute function intake_catalog_bump()`),

  // One row that /ready rewrites: ready means the database takes writes, which a read-only replica, a
  // read-only default or a full disk refuse while still answering reads.
  sql`create table readiness_probe (id integer primary key check (id = 1), checked_at timestamptz not null)`,
  sql`insert into readiness_probe (id, checked_at) values (1, now())`,

  // A secret every instance of one deployment shares and nobody else knows: the dispatcher marks each request
  // it sends with it, so intake can tell this deployment's own postbacks coming back (a loop) from those of
  // another network running the same software.
  sql`create table service_identity (id integer primary key check (id = 1), loop_key text not null)`,
  sql`insert into service_identity (id, loop_key)
    values (1, replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))`,

  // Standard Webhooks signing secrets (contract §5.7), per affiliate. The key itself is kept (the dispatcher signs
  // with it), the API shows it only when issued. At most two rows per affiliate: the current one (expires_at null)
  // and, for 24 h after a rotation, the one it replaced. Deleting the affiliate takes its secrets along.
  sql`create table affiliate_signing_secrets (
    id integer generated always as identity primary key,
    affiliate_id integer not null references affiliates (id) on delete cascade,
    secret text not null check (secret ~ '^[A-Za-z0-9+/]{43}=$'),
    created_at timestamptz not null default now(),
    expires_at timestamptz)`,
  sql`create unique index affiliate_signing_secrets_current on affiliate_signing_secrets (affiliate_id) where expires_at is null`,
  sql`create index affiliate_signing_secrets_affiliate on affiliate_signing_secrets (affiliate_id, id)`,

  // A redelivery (POST /v1/postbacks/{id}/redeliver) makes the row pending again for exactly one more attempt,
  // whatever its attempts so far: that attempt settles it, delivered or failed.
  sql`alter table postback_deliveries add column final_attempt boolean not null default false`,

  // Receivers that answered 429 or 503 with Retry-After (§5.7): until when their origin (as originKey spells
  // it) gets nothing, so that every instance holds back, not only the one that got the answer.
  sql`create table origin_holds (
    origin text primary key,
    held_until timestamptz not null)`,

  // The dispatcher's claim (each row with its postback, so a deleted postback's rows can be dropped). Its plan is pinned so that its cost never depends on statistics or on the
  // table's age: the due index walked in order and stopped after lim rows (no bitmap scan and sort, which
  // stale statistics after a burst would choose, reading every pending row), and each claimed row found
  // again by its primary key (no hash join over a sequential scan, which a parameter limit invites, reading
  // the delivered history too). PL/pgSQL keeps the statement's plan for the session, and the generic plan
  // is forced since the pinned custom plan would be the same. The origin filter costs nothing when no origin
  // is skipped, which is nearly always. The caller turns synchronous_commit off in the same statement.
  sql`create function claim_postback_deliveries(holder text, lease_ms int, lim int, retry_lane boolean, skip_origins text[])
    returns table (id bigint, postback_id int, method text, url text, body text, attempts int, previous_holder text, signing_keys text[],
      final_attempt boolean)
    language plpgsql volatile
    set enable_bitmapscan = off
    set enable_sort = off
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    set plan_cache_mode = force_generic_plan
    as $$
    begin
      return query
      update postback_deliveries d
      set locked_until = now() + lease_ms * interval '1 millisecond', locked_by = holder
      from (
        select p.id, p.locked_by as previous_holder from postback_deliveries p
        where p.state = 'pending' and p.next_attempt_at <= now()
          and (p.locked_until is null or p.locked_until < now())
          and (p.attempts > 0) = retry_lane
          and (cardinality(skip_origins) = 0 or lower(split_part(p.url, '/', 3)) <> all (skip_origins))
        order by p.next_attempt_at, p.id
        limit lim
        for update skip locked
      ) due
      where d.id = due.id
      -- The affiliate's signing keys in force now, newest first (null when it signs nothing): one probe of
      -- a small index per row, so that a rotation or a DELETE counts from the next claim on.
      returning d.id, d.postback_id, d.method, d.url, d.body, d.attempts, due.previous_holder,
        (select array_agg(s.secret order by s.id desc) from affiliate_signing_secrets s
          where s.affiliate_id = d.affiliate_id and (s.expires_at is null or s.expires_at > now())),
        d.final_attempt;
    end
    $$`,

  // The record of a batch of attempts: attempts written, decisions applied, leases released, only for rows
  // the caller still holds. Pinned like the claim, so a plan kept for the session finds each row by its
  // primary key whatever the table held when it was made.
  sql`create function record_postback_attempts(
      ids bigint[], holders text[], ats timestamptz[], http_codes int[], durations_ms int[], bodies text[], errors text[],
      states text[], retry_delays_ms int[], keep_cancelled_flags boolean[])
    returns table (id bigint, n int)
    language plpgsql volatile
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    set plan_cache_mode = force_generic_plan
    as $$
    begin
      return query
      with input as (
        select * from unnest(ids, holders, ats, http_codes, durations_ms, bodies, errors, states, retry_delays_ms, keep_cancelled_flags)
          as i(id, holder, at, http_code, duration_ms, response_body, error, state, retry_ms, keep_cancelled)),
      updated as (
        update postback_deliveries d set
          attempts = d.attempts + 1, last_http_code = i.http_code, last_error = i.error,
          state = case when i.keep_cancelled and d.state = 'cancelled' then 'cancelled' else i.state end,
          next_attempt_at = case when i.state = 'pending' and not (i.keep_cancelled and d.state = 'cancelled')
            then now() + i.retry_ms * interval '1 millisecond' end,
          delivered_at = case when i.state = 'delivered' then coalesce(d.delivered_at, now()) else d.delivered_at end,
          locked_until = null, locked_by = null, updated_at = now()
        from input i
        where d.id = i.id and d.locked_by = i.holder
        -- The attempt's own fields come back with the row: joining input again without hash joins would
        -- compare every pair.
        returning d.id, d.attempts, i.at, i.http_code, i.duration_ms, i.response_body, i.error)
      insert into postback_attempts (delivery_id, n, at, http_code, duration_ms, response_body, error)
      select u.id, u.attempts, u.at, u.http_code, u.duration_ms, u.response_body, u.error from updated u
      returning postback_attempts.delivery_id, postback_attempts.n;
    end
    $$`,

  // Statistics (§7). The report reads these rollups, never a month of raw clicks. Two tiers of conversions, kept by
  // statement triggers in the statement that writes them (the conversion batch, a status change, hold expiry, an
  // admin patch, any path added later), so the figures are exactly those of the rows at commit and a status change
  // moves a conversion between columns in its own transaction. Clicks are only ever inserted: the 15-minute tier
  // counts those created before `stats_click_fold.folded_until`, added by a fold every few seconds (one grouped
  // statement for thousands of clicks, not an upsert per click batch), and reports count the seconds after it from
  // the clicks themselves; a click written late (before the fold) is counted by the trigger as it is written.
  // - per 15-minute UTC bucket, offer and affiliate: the greatest step that serves every hour and day boundary
  //   of every zone exactly (all offsets, +05:30, +05:45 and +12:45 included, and the instants at which they
  //   change are multiples of 15 minutes);
  // - per local day of each reporting zone (stats_zones, from STATS_TIME_ZONES), once per offer (affiliate_id 0)
  //   and once per affiliate (offer_id 0): a month's report by day and offer or by day and affiliate reads a few
  //   thousand rows, however the traffic spreads over (offer, affiliate) pairs. A zone counts what is created
  //   from its `since` on; earlier days are read from the 15-minute tier. What is created now reaches it through
  //   the fold, a few minutes later (`folded_until`); the triggers write to it only what is older than that.
  // Rows are upserted in key order, the 15-minute tier first, so concurrent batches lock shared rollup rows in
  // the same order and cannot deadlock. Dropping clicks (retention) leaves both untouched; retention waits for
  // the click fold to pass a month before it drops it.
  sql`create table stats_clicks (
    bucket timestamptz not null,
    offer_id integer not null,
    affiliate_id integer not null,
    clicks bigint not null,
    constraint stats_clicks_pkey primary key (bucket, offer_id, affiliate_id))`,
  // One row: clicks created before `folded_until` are in stats_clicks (the fold, stats/click-fold.ts, moves it on).
  sql`create table stats_click_fold (
    only_row boolean primary key default true check (only_row),
    folded_until timestamptz not null)`,
  sql`insert into stats_click_fold (folded_until) values (timestamptz '1970-01-01 00:00:00+00')`,
  sql`create table stats_conversions (
    bucket timestamptz not null,
    offer_id integer not null,
    affiliate_id integer not null,
    goal text not null,
    currency text not null,
    ${CONVERSION_FIGURES},
    constraint stats_conversions_pkey primary key (bucket, offer_id, affiliate_id, goal, currency))`,
  sql`create table stats_zones (
    zone text primary key,
    -- Clicks and conversions created from this instant on are counted in the zone's daily tier.
    since timestamptz not null,
    -- The daily tier holds what was created in [since, folded_until): a fold (stats/daily-tiers.ts) adds the
    -- 15-minute tier's whole buckets up to a moment ago and moves it on; writes of anything older (a click
    -- written late, a status change) reach the daily tier themselves, so a click costs one rollup row, not three.
    folded_until timestamptz not null,
    constraint stats_zones_folded check (folded_until >= since))`,
  // A click counts in its offer's currency; the daily tier keeps the currency it had when the click was written,
  // so an offer whose currency changes restarts the daily tier (stats/repository.ts) rather than mixing two.
  sql`create table stats_daily_clicks (
    zone text not null,
    day date not null,
    offer_id integer not null,
    affiliate_id integer not null,
    currency text not null,
    clicks bigint not null,
    constraint stats_daily_clicks_one_grain check ((offer_id = 0) <> (affiliate_id = 0)),
    constraint stats_daily_clicks_pkey primary key (zone, day, offer_id, affiliate_id, currency))`,
  sql`create table stats_daily_conversions (
    zone text not null,
    day date not null,
    offer_id integer not null,
    affiliate_id integer not null,
    goal text not null,
    currency text not null,
    ${CONVERSION_FIGURES},
    constraint stats_daily_conversions_one_grain check ((offer_id = 0) <> (affiliate_id = 0)),
    constraint stats_daily_conversions_pkey primary key (zone, day, offer_id, affiliate_id, goal, currency))`,
  // Sub-level reports read conversions of the period directly.
  sql`create index conversions_created on conversions (created_at)`,
  // New clicks are left to the fold; the trigger counts only those created before it (written late), which a
  // batch of new traffic finds out from one pass over its rows.
  sql`create function stats_count_clicks() returns trigger language plpgsql as $$
    declare
      clicks_folded_until timestamptz := (select f.folded_until from stats_click_fold f);
      oldest timestamptz := (select min(created_at) from new_clicks);
    begin
      if oldest is null or oldest >= clicks_folded_until then
        return null;
      end if;
      insert into stats_clicks as s (bucket, offer_id, affiliate_id, clicks)
      select date_bin('15 minutes', created_at, timestamptz '2000-01-01 00:00:00+00'), offer_id, affiliate_id, count(*)
      from new_clicks where created_at < clicks_folded_until group by 1, 2, 3 order by 1, 2, 3
      on conflict (bucket, offer_id, affiliate_id) do update set clicks = s.clicks + excluded.clicks;
      if ${DAILY_TIER_REACHED(sql`oldest`)} then
      insert into stats_daily_clicks as s (zone, day, offer_id, affiliate_id, currency, clicks)
      select z.zone, (c.created_at at time zone z.zone)::date, g.offer_id, g.affiliate_id, o.currency, count(*)
      from new_clicks c join stats_zones z on c.created_at >= z.since and c.created_at < z.folded_until join offers o on o.id = c.offer_id
        cross join lateral (values (c.offer_id, 0), (0, c.affiliate_id)) g (offer_id, affiliate_id)
      where c.created_at < clicks_folded_until
      group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
      on conflict (zone, day, offer_id, affiliate_id, currency) do update set clicks = s.clicks + excluded.clicks;
      end if;
      return null;
    end
    $$`,
  sql`create trigger clicks_stats after insert on clicks
    referencing new table as new_clicks for each statement execute function stats_count_clicks()`,
  // One function for inserts (new rows count +1) and updates (the old version -1, the new one +1, for rows
  // whose counted columns changed), so any change of status, amount, goal or time lands in the right cells.
  sql`create function stats_count_conversions() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${countConversions(sql`select 1 as n, created_at, offer_id, affiliate_id, goal, currency, status, revenue, payout from new_conversions`,
          sql`select min(created_at) from new_conversions`)}
      else
        ${countConversions(sql`
          select 1 as n, nc.created_at, nc.offer_id, nc.affiliate_id, nc.goal, nc.currency, nc.status, nc.revenue, nc.payout
          from new_conversions nc join old_conversions oc on oc.id = nc.id
          where (nc.created_at, nc.offer_id, nc.affiliate_id, nc.goal, nc.currency, nc.status, nc.revenue, nc.payout)
            is distinct from (oc.created_at, oc.offer_id, oc.affiliate_id, oc.goal, oc.currency, oc.status, oc.revenue, oc.payout)
          union all
          select -1, oc.created_at, oc.offer_id, oc.affiliate_id, oc.goal, oc.currency, oc.status, oc.revenue, oc.payout
          from old_conversions oc join new_conversions nc on nc.id = oc.id
          where (nc.created_at, nc.offer_id, nc.affiliate_id, nc.goal, nc.currency, nc.status, nc.revenue, nc.payout)
            is distinct from (oc.created_at, oc.offer_id, oc.affiliate_id, oc.goal, oc.currency, oc.status, oc.revenue, oc.payout)`,
          sql`select least((select min(created_at) from old_conversions), (select min(created_at) from new_conversions))`)}
      end if;
      return null;
    end
    $$`,
  sql`create trigger conversions_stats_insert after insert on conversions
    referencing new table as new_conversions for each statement execute function stats_count_conversions()`,
  sql`create trigger conversions_stats_update after update on conversions
    referencing old table as old_conversions new table as new_conversions for each statement execute function stats_count_conversions()`,
  // Traffic rules of an offer (contract §4.4): the click session after which conversions are declined, and caps
  // on clicks, conversions and payout. Caps live on the offer row (at most 20, replaced whole by a PATCH), so
  // the click replica and the intake cache carry them with the offer. cap_counters holds what each cap has
  // counted: one row per (offer, metric, period, goal, affiliate, period start), where goal '' means every
  // goal and affiliate 0 all affiliates together. A conversion locks and updates its counters in the
  // transaction that creates it; clicks reach them from each instance's local count at least every second.
  sql`alter table offers add column click_session text not null default '365d' check (click_session ~ '^[1-9][0-9]{0,5}[hd]$')`,
  sql`alter table offers add column caps jsonb not null default '[]'::jsonb
    check (jsonb_typeof(caps) = 'array' and jsonb_array_length(caps) <= 20)`,
  sql`alter table conversions add column decline_reason text check (decline_reason in (
    'Cap is reached', 'Session lifespan expired', 'Declined via advertiser''s postback', 'Rejected by a manager'))`,
  sql`create table cap_counters (
    offer_id integer not null references offers (id) on delete cascade,
    metric text not null check (metric in ('clicks', 'conversions', 'payout')),
    period text not null check (period in ('day', 'week', 'month', 'total')),
    goal text not null,
    affiliate_id integer not null,
    period_start timestamptz not null,
    used numeric(18,4) not null default 0 check (used >= 0),
    constraint cap_counters_pkey primary key (offer_id, metric, period, goal, affiliate_id, period_start))`,
]

export async function up (db: Kysely<any>): Promise<void> {
  for (const statement of SCHEMA) await statement.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop function if exists stats_count_clicks, stats_count_conversions cascade`.execute(db)
  await sql`drop function if exists record_postback_attempts, claim_postback_deliveries, intake_catalog_bump,
    click_replica_stamp, click_replica_record_deletion cascade`.execute(db)
  for (const table of [
    'cap_counters', 'stats_daily_conversions', 'stats_daily_clicks', 'stats_zones', 'stats_conversions', 'stats_click_fold', 'stats_clicks', 'origin_holds', 'affiliate_signing_secrets', 'service_identity', 'readiness_probe', 'click_replica_deletions', 'intake_catalog_version', 'postback_attempts', 'postback_deliveries', 'postbacks', 'server_postbacks', 'conversion_events',
    'conversions', 'clicks', 'tracking_links', 'affiliates', 'offer_goals', 'offers', 'tracking_domains', 'advertisers', 'admin_api_keys',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}

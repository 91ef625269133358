import type { TrackingLinkRow } from '../db/tables.js'
import { buildShortUrl, orderLinkParams } from '../domain/links.js'

/** The scheme, host and path a stored link starts with: its url up to `/click?pid=` (values there are encoded). */
function linkBase (url: string): string {
  const end = url.indexOf('/click?pid=')
  return end === -1 ? url : url.slice(0, end)
}

/**
 * As generated: a link already handed to an affiliate keeps its text when its domain is renamed (a repeat of
 * the generating request refreshes it). The short URL shares the link's scheme and host.
 */
export function linkToApi (link: TrackingLinkRow) {
  return {
    id: link.id,
    offer_id: link.offer_id,
    affiliate_id: link.affiliate_id,
    tracking_domain_id: link.tracking_domain_id,
    use_ssl: link.use_ssl,
    params: Object.fromEntries(orderLinkParams(link.params)),
    url: link.url,
    short_url: link.short_code === null ? null : buildShortUrl(linkBase(link.url), link.short_code),
    sent_at: link.sent_at,
    created_at: link.created_at,
  }
}

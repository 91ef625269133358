// The notifications the delivery engine listens to (PostgreSQL LISTEN/NOTIFY, or PGlite's own), sent in the
// transactions that change what it must do, so every instance learns of them at commit.

/** New deliveries are due: a waiting dispatcher claims at once instead of at its next poll. */
export const DELIVERIES_CHANNEL = 's2s_deliveries'

/** Postbacks were deleted (payload: their ids, comma-separated): their rows held in memory are dropped. */
export const POSTBACKS_DELETED_CHANNEL = 's2s_postbacks_deleted'

import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { Ajv } from 'ajv'
import { parseDuration, parseRetrySchedule } from './domain/retry.js'
import { knownTimeZone } from './domain/time-periods.js'

const DAY_MS = 86_400_000

/** Parsed, validated and frozen runtime configuration. Nothing else reads process.env. */
export interface Config {
  port: number
  host: string
  databaseUrl: string | null
  dataDir: string
  adminApiKeys: string[] | null
  publicUrl: string
  trafficbackUrl: string | null
  trustProxy: false | number | string[]
  postbackTimeoutMs: number
  postbackRetryScheduleMs: number[]
  postbackConcurrency: number
  postbackAllowPrivateNetworks: boolean
  /** Consecutive failed deliveries after which a postback is disabled (§5.7)... */
  postbackDisableAfter: number
  /** ...when they span at least this long. */
  postbackDisableMinAgeMs: number
  logLevel: string
  /** A bearer token that may read /metrics besides the admin keys; null when unset. */
  metricsToken: string | null
  /** How often buffered clicks are written; the contract promises durability within a second. */
  clickFlushIntervalMs: number
  /** Clicks kept in memory while the database is unreachable; beyond it they are dropped and counted. */
  clickBufferLimit: number
  /** While clicks are being dropped, one log line per interval gives the count. */
  clickDropReportIntervalMs: number
  /** Clicks older than this many days are dropped, a month's partition at a time (§8). */
  clickRetentionDays: number
  /** The server-postback log and finished deliveries (with their attempts) older than this many days are dropped. */
  logRetentionDays: number
  /** Which parts this instance runs (§8): the HTTP API and tracking endpoints, the dispatcher, maintenance. */
  roles: ReadonlySet<ServiceRole>
  /** Processes sharing the port on this machine (node:cluster); 1 runs the service in this process. */
  workers: number
  /** Zones whose local days the statistics keep a daily tier for (§7): month-long reports in them read it. */
  statsTimeZones: string[]
}

/** Each reporting zone adds rollup rows to every click and conversion batch: a handful is plenty. */
export const MAX_STATS_TIME_ZONES = 5

export const SERVICE_ROLES = ['http', 'dispatcher', 'maintenance'] as const
export type ServiceRole = typeof SERVICE_ROLES[number]

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const envSchema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    DATA_DIR: { type: 'string', minLength: 1, default: './data' },
    ADMIN_API_KEYS: { type: 'string' },
    PUBLIC_URL: { type: 'string', pattern: '^https?://[^/?#]+' },
    TRAFFICBACK_URL: { type: 'string', pattern: '^https?://[^/?#]+' },
    TRUST_PROXY: { type: 'string', default: 'false' },
    POSTBACK_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    POSTBACK_RETRY_SCHEDULE: { type: 'string', default: '10s,1m,5m,30m,2h,6h' },
    POSTBACK_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 10000, default: 64 },
    POSTBACK_ALLOW_PRIVATE_NETWORKS: { type: 'boolean', default: false },
    POSTBACK_DISABLE_AFTER: { type: 'integer', minimum: 1, maximum: 1000000, default: 50 },
    POSTBACK_DISABLE_MIN_AGE: { type: 'string', default: '24h' },
    LOG_LEVEL: { type: 'string', enum: LOG_LEVELS, default: 'info' },
    METRICS_TOKEN: { type: 'string', minLength: 16 },
    CLICK_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 36500, default: 400 },
    LOG_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 36500, default: 90 },
    SERVICE_ROLES: { type: 'string', default: SERVICE_ROLES.join(',') },
    WORKERS: { type: 'string', default: '1' },
    STATS_TIME_ZONES: { type: 'string', default: 'UTC' },
  },
} as const

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true })
const validateEnv = ajv.compile(envSchema)

/** An IP address, or an address with a prefix length that fits it (`10.0.0.0/8`, `fd00::/8`). */
function isIpOrCidr (value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/** A hostname or an address to listen on (`0.0.0.0`, `::`, `localhost`, `api.internal`). */
function isListenHost (value: string): boolean {
  return isIP(value) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(value)
}

/**
 * `false`, a hop count, or the proxies' addresses (§6). `true` (believe any X-Forwarded-For) is refused: a
 * client could then choose the IP its clicks are recorded with.
 */
function parseTrustProxy (raw: string): number | string[] | false | string {
  const value = raw.trim()
  if (value === '' || value === 'false') return false
  if (value === 'true') return '"true" would believe any X-Forwarded-For, so any client could choose its IP: give the number of proxy hops or their addresses'
  if (/^\d+$/.test(value)) return Number(value)
  const entries = value.split(',').map((s) => s.trim())
  const bad = entries.find((entry) => !isIpOrCidr(entry))
  return bad === undefined ? entries : `"${bad}" is not false, a number of proxy hops or a proxy's IP address or CIDR range`
}

/** Reads configuration from an env-like record; throws one ConfigError naming every bad variable. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(envSchema.properties)) {
    const value = env[key]
    // An empty variable means "not set", as in most .env tooling.
    if (value !== undefined && value !== '') input[key] = key === 'LOG_LEVEL' ? value.toLowerCase() : value
  }
  const problems: string[] = []
  const bad = new Set<string>()
  if (!validateEnv(input)) {
    for (const error of validateEnv.errors ?? []) {
      const name = error.instancePath.replace(/^\//, '') || 'environment'
      bad.add(name)
      const allowed = error.keyword === 'enum' ? ` (${(error.params as { allowedValues: string[] }).allowedValues.join(', ')})` : ''
      problems.push(`${name}: ${error.message ?? 'is invalid'}${allowed}`)
    }
  }
  const v = input as {
    PORT: number;
    HOST: string;
    DATABASE_URL?: string;
    DATA_DIR: string;
    ADMIN_API_KEYS?: string
    PUBLIC_URL?: string;
    TRAFFICBACK_URL?: string;
    TRUST_PROXY: string;
    POSTBACK_TIMEOUT_MS: number
    POSTBACK_RETRY_SCHEDULE: string;
    POSTBACK_CONCURRENCY: number;
    POSTBACK_ALLOW_PRIVATE_NETWORKS: boolean
    POSTBACK_DISABLE_AFTER: number
    POSTBACK_DISABLE_MIN_AGE: string
    LOG_LEVEL: string;
    METRICS_TOKEN?: string
    CLICK_RETENTION_DAYS: number
    LOG_RETENTION_DAYS: number
    SERVICE_ROLES: string
    WORKERS: string
    STATS_TIME_ZONES: string
  }
  // The checks ajv cannot express, each on a variable that passed its type check.
  const check = <T>(name: string, parse: () => { value: T } | { problem: string }): T | undefined => {
    if (bad.has(name)) return undefined
    const result = parse()
    if ('problem' in result) problems.push(`${name}: ${result.problem}`)
    return 'value' in result ? result.value : undefined
  }
  check('HOST', () => (isListenHost(v.HOST) ? { value: v.HOST } : { problem: `"${v.HOST}" is not an IP address or a hostname` }))
  const schedule = check('POSTBACK_RETRY_SCHEDULE', () => {
    const parsed = parseRetrySchedule(v.POSTBACK_RETRY_SCHEDULE)
    return parsed !== null
      ? { value: parsed }
      : {
          problem: `"${v.POSTBACK_RETRY_SCHEDULE}" must be comma-separated durations such as 10s,1m,5m (suffixes ms, s, m, h)`,
        }
  })
  const disableMinAge = check('POSTBACK_DISABLE_MIN_AGE', () => {
    const ms = v.POSTBACK_DISABLE_MIN_AGE.trim() === '0' ? 0 : parseDuration(v.POSTBACK_DISABLE_MIN_AGE.trim())
    return ms !== null && ms <= 365 * DAY_MS
      ? { value: ms }
      : { problem: `"${v.POSTBACK_DISABLE_MIN_AGE}" must be 0 or a duration up to a year, such as 24h, 90m or 7d (suffixes ms, s, m, h, d)` }
  })
  const adminApiKeys = check('ADMIN_API_KEYS', () => {
    const keys = (v.ADMIN_API_KEYS ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '')
    if (keys.some((key) => key.length < 16)) return { problem: 'every key must be at least 16 characters' }
    return { value: keys.length === 0 ? null : keys }
  })
  const trustProxy = check('TRUST_PROXY', () => {
    const parsed = parseTrustProxy(v.TRUST_PROXY)
    return typeof parsed === 'string' ? { problem: parsed } : { value: parsed }
  })
  const roles = check('SERVICE_ROLES', () => {
    const named = v.SERVICE_ROLES.split(',').map((role) => role.trim().toLowerCase()).filter((role) => role !== '')
    const unknown = named.find((role) => !(SERVICE_ROLES as readonly string[]).includes(role))
    if (unknown !== undefined) return { problem: `"${unknown}" is not a role (${SERVICE_ROLES.join(', ')})` }
    if (named.length === 0) return { problem: `name at least one role (${SERVICE_ROLES.join(', ')})` }
    return { value: new Set(named as ServiceRole[]) }
  })
  const workers = check('WORKERS', () => {
    const raw = v.WORKERS.trim().toLowerCase()
    const count = raw === 'auto' ? availableParallelism() : /^\d{1,3}$/.test(raw) ? Number(raw) : NaN
    if (!(count >= 1 && count <= 256)) return { problem: `"${v.WORKERS}" must be a number of processes (1 to 256) or auto (one per core)` }
    if (count > 1 && v.DATABASE_URL === undefined) {
      return { problem: `${count} processes need PostgreSQL (DATABASE_URL): the embedded database is opened by one process only` }
    }
    return { value: count }
  })
  const statsTimeZones = check('STATS_TIME_ZONES', () => {
    if (v.STATS_TIME_ZONES.trim().toLowerCase() === 'none') return { value: [] }
    const named = v.STATS_TIME_ZONES.split(',').map((zone) => zone.trim()).filter((zone) => zone !== '')
    const unknown = named.find((zone) => knownTimeZone(zone) === null)
    if (unknown !== undefined) return { problem: `"${unknown}" is not an IANA time zone (Europe/Berlin, Asia/Kolkata, UTC)` }
    const distinct = [...new Set(named.map((zone) => zone.toLowerCase()))]
    if (distinct.length > MAX_STATS_TIME_ZONES) return { problem: `name at most ${MAX_STATS_TIME_ZONES} zones` }
    return { value: distinct.map((lower) => named.find((zone) => zone.toLowerCase() === lower) as string) }
  })
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL ?? null,
    dataDir: v.DATA_DIR,
    adminApiKeys: adminApiKeys ?? null,
    publicUrl: (v.PUBLIC_URL ?? `http://localhost:${v.PORT}`).replace(/\/$/, ''),
    trafficbackUrl: v.TRAFFICBACK_URL ?? null,
    trustProxy: trustProxy ?? false,
    postbackTimeoutMs: v.POSTBACK_TIMEOUT_MS,
    postbackRetryScheduleMs: schedule ?? [],
    postbackConcurrency: v.POSTBACK_CONCURRENCY,
    postbackAllowPrivateNetworks: v.POSTBACK_ALLOW_PRIVATE_NETWORKS,
    postbackDisableAfter: v.POSTBACK_DISABLE_AFTER,
    postbackDisableMinAgeMs: disableMinAge ?? DAY_MS,
    logLevel: v.LOG_LEVEL,
    metricsToken: v.METRICS_TOKEN ?? null,
    clickFlushIntervalMs: 250,
    clickBufferLimit: 100_000,
    clickDropReportIntervalMs: 10_000,
    clickRetentionDays: v.CLICK_RETENTION_DAYS,
    logRetentionDays: v.LOG_RETENTION_DAYS,
    roles: roles ?? new Set(SERVICE_ROLES),
    workers: workers ?? 1,
    statsTimeZones: statsTimeZones ?? ['UTC'],
  })
}

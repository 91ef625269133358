import { Ajv } from 'ajv'
import { parseRetrySchedule } from './domain/retry.js'

/** Parsed, validated and frozen runtime configuration. Nothing else reads process.env. */
export interface Config {
  port: number
  host: string
  databaseUrl: string | null
  dataDir: string
  adminApiKeys: string[] | null
  publicUrl: string
  trafficbackUrl: string | null
  trustProxy: boolean | number | string[]
  postbackTimeoutMs: number
  postbackRetryScheduleMs: number[]
  postbackConcurrency: number
  postbackAllowPrivateNetworks: boolean
  logLevel: string
  /** How often buffered clicks are written; the contract promises durability within a second. */
  clickFlushIntervalMs: number
}

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
    LOG_LEVEL: { type: 'string', enum: LOG_LEVELS, default: 'info' },
  },
} as const

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true })
const validateEnv = ajv.compile(envSchema)

function isIpOrCidr(value: string): boolean {
  return /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(value) && /[.:]/.test(value)
}

function parseTrustProxy(raw: string): boolean | number | string[] {
  const value = raw.trim()
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  const entries = value.split(',').map((s) => s.trim())
  const bad = entries.find((entry) => !isIpOrCidr(entry))
  if (bad !== undefined) {
    throw new ConfigError(`TRUST_PROXY: "${bad}" is not false, a hop count or an IP address/CIDR`)
  }
  return entries
}

/** Reads configuration from an env-like record; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(envSchema.properties)) {
    const value = env[key]
    // An empty variable means "not set", as in most .env tooling.
    if (value !== undefined && value !== '') input[key] = value
  }
  if (!validateEnv(input)) {
    const messages = (validateEnv.errors ?? []).map((error) => {
      const name = error.instancePath.replace(/^\//, '') || 'environment'
      return `${name}: ${error.message ?? 'is invalid'}`
    })
    throw new ConfigError(`Invalid configuration: ${messages.join('; ')}`)
  }
  const v = input as {
    PORT: number; HOST: string; DATABASE_URL?: string; DATA_DIR: string; ADMIN_API_KEYS?: string
    PUBLIC_URL?: string; TRAFFICBACK_URL?: string; TRUST_PROXY: string; POSTBACK_TIMEOUT_MS: number
    POSTBACK_RETRY_SCHEDULE: string; POSTBACK_CONCURRENCY: number; POSTBACK_ALLOW_PRIVATE_NETWORKS: boolean
    LOG_LEVEL: string
  }
  const schedule = parseRetrySchedule(v.POSTBACK_RETRY_SCHEDULE)
  if (schedule === null) {
    throw new ConfigError(
      `Invalid configuration: POSTBACK_RETRY_SCHEDULE: "${v.POSTBACK_RETRY_SCHEDULE}" must be comma-separated durations such as 10s,1m,5m (suffixes ms, s, m, h)`,
    )
  }
  let adminApiKeys: string[] | null = null
  if (v.ADMIN_API_KEYS !== undefined) {
    adminApiKeys = v.ADMIN_API_KEYS.split(',').map((key) => key.trim()).filter((key) => key !== '')
    if (adminApiKeys.length === 0) adminApiKeys = null
    else if (adminApiKeys.some((key) => key.length < 16)) {
      throw new ConfigError('Invalid configuration: ADMIN_API_KEYS: every key must be at least 16 characters')
    }
  }
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL ?? null,
    dataDir: v.DATA_DIR,
    adminApiKeys,
    publicUrl: (v.PUBLIC_URL ?? `http://localhost:${v.PORT}`).replace(/\/$/, ''),
    trafficbackUrl: v.TRAFFICBACK_URL ?? null,
    trustProxy: parseTrustProxy(v.TRUST_PROXY),
    postbackTimeoutMs: v.POSTBACK_TIMEOUT_MS,
    postbackRetryScheduleMs: schedule,
    postbackConcurrency: v.POSTBACK_CONCURRENCY,
    postbackAllowPrivateNetworks: v.POSTBACK_ALLOW_PRIVATE_NETWORKS,
    logLevel: v.LOG_LEVEL,
    clickFlushIntervalMs: 250,
  })
}

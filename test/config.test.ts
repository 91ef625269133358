import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    port: 3000,
    host: '0.0.0.0',
    databaseUrl: null,
    dataDir: './data',
    adminApiKeys: null,
    publicUrl: 'http://localhost:3000',
    trafficbackUrl: null,
    trustProxy: false,
    postbackTimeoutMs: 10000,
    postbackConcurrency: 64,
    postbackAllowPrivateNetworks: false,
    logLevel: 'info',
  })
  t.same(config.postbackRetryScheduleMs, [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000])
  t.ok(Object.isFrozen(config))
})

t.test('parses every variable', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgres://u@h/db',
    DATA_DIR: '/var/lib/s2s',
    ADMIN_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
    PUBLIC_URL: 'https://track.example/t/',
    TRAFFICBACK_URL: 'https://fallback.example',
    TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
    POSTBACK_TIMEOUT_MS: '5000',
    POSTBACK_RETRY_SCHEDULE: '1s, 500ms',
    POSTBACK_CONCURRENCY: '8',
    POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
    POSTBACK_DISABLE_AFTER: '20',
    POSTBACK_DISABLE_MIN_AGE: '7d',
    LOG_LEVEL: 'debug',
  })
  t.match(config, {
    port: 8080,
    host: '127.0.0.1',
    databaseUrl: 'postgres://u@h/db',
    dataDir: '/var/lib/s2s',
    adminApiKeys: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
    publicUrl: 'https://track.example/t',
    trafficbackUrl: 'https://fallback.example',
    trustProxy: ['10.0.0.0/8', '127.0.0.1'],
    postbackTimeoutMs: 5000,
    postbackRetryScheduleMs: [1000, 500],
    postbackConcurrency: 8,
    postbackAllowPrivateNetworks: true,
    postbackDisableAfter: 20,
    postbackDisableMinAgeMs: 7 * 86_400_000,
    logLevel: 'debug',
  })
  t.match(loadConfig({}), { postbackDisableAfter: 50, postbackDisableMinAgeMs: 86_400_000 }, 'defaults: 50 failures over 24h')
  t.equal(loadConfig({ POSTBACK_DISABLE_MIN_AGE: '0' }).postbackDisableMinAgeMs, 0, 'no minimum span')
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(loadConfig({ TRUST_PROXY: 'fd00::/8, ::1' }).trustProxy, ['fd00::/8', '::1'])
  t.equal(loadConfig({ HOST: '::' }).host, '::')
  t.equal(loadConfig({ LOG_LEVEL: 'INFO' }).logLevel, 'info', 'a level in any case')
  t.equal(loadConfig({ HOST: 'api.internal' }).host, 'api.internal')
  t.equal(loadConfig({ PORT: '4000' }).publicUrl, 'http://localhost:4000')
  t.same(loadConfig({}).statsTimeZones, ['UTC'], 'reporting zones: UTC by default')
  t.same(loadConfig({ STATS_TIME_ZONES: ' Asia/Kolkata, utc,asia/kolkata ' }).statsTimeZones, ['Asia/Kolkata', 'utc'], 'listed once each, ignoring case')
  t.same(loadConfig({ STATS_TIME_ZONES: 'none' }).statsTimeZones, [], 'none: every report reads the 15-minute tier')
})

t.test('refuses bad values, naming the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL/],
    [{ TRAFFICBACK_URL: 'nope' }, /TRAFFICBACK_URL/],
    [{ TRUST_PROXY: 'yes please' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY: "true" would believe any X-Forwarded-For/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/8/8' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '999.1.1.1' }, /TRUST_PROXY/],
    [{ HOST: 'not a host!' }, /HOST/],
    [{ POSTBACK_TIMEOUT_MS: '-1' }, /POSTBACK_TIMEOUT_MS/],
    [{ POSTBACK_RETRY_SCHEDULE: '10 parsecs' }, /POSTBACK_RETRY_SCHEDULE/],
    [{ POSTBACK_CONCURRENCY: '0' }, /POSTBACK_CONCURRENCY/],
    [{ POSTBACK_DISABLE_AFTER: '0' }, /POSTBACK_DISABLE_AFTER/],
    [{ POSTBACK_DISABLE_AFTER: 'often' }, /POSTBACK_DISABLE_AFTER/],
    [{ POSTBACK_DISABLE_MIN_AGE: '1 day' }, /POSTBACK_DISABLE_MIN_AGE: "1 day" must be 0 or a duration/],
    [{ POSTBACK_DISABLE_MIN_AGE: '400d' }, /POSTBACK_DISABLE_MIN_AGE/],
    [{ POSTBACK_ALLOW_PRIVATE_NETWORKS: 'maybe' }, /POSTBACK_ALLOW_PRIVATE_NETWORKS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: .*\(fatal, error, warn, info, debug, trace, silent\)/],
    [{ ADMIN_API_KEYS: 'short' }, /ADMIN_API_KEYS/],
    [{ STATS_TIME_ZONES: 'Asia/Kolkata,Mars/Olympus' }, /STATS_TIME_ZONES: "Mars\/Olympus" is not an IANA time zone/],
    [{ STATS_TIME_ZONES: '+05:30' }, /STATS_TIME_ZONES/],
    [{ STATS_TIME_ZONES: 'UTC,Europe/Berlin,Europe/London,Asia/Kolkata,Asia/Tokyo,America/New_York' }, /STATS_TIME_ZONES: name at most 5 zones/],
  ]
  for (const [env, pattern] of cases) {
    t.throws(() => loadConfig(env), pattern, JSON.stringify(env))
    t.throws(() => loadConfig(env), ConfigError)
  }
})

t.test('every bad variable is named in one message', async (t) => {
  const env = { PORT: 'abc', TRUST_PROXY: 'garbage', HOST: 'not a host!', POSTBACK_RETRY_SCHEDULE: 'soon', ADMIN_API_KEYS: 'short' }
  const error = t.throws(() => loadConfig(env), ConfigError) as ConfigError
  for (const name of ['PORT', 'TRUST_PROXY', 'HOST', 'POSTBACK_RETRY_SCHEDULE', 'ADMIN_API_KEYS']) t.match(error.message, name)
})

t.test('the app refuses to start on an unreachable database', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', ADMIN_API_KEYS: 'x'.repeat(16), LOG_LEVEL: 'silent' })
  await t.rejects(buildApp(config).then((app) => app.ready()))
})

import t from 'tap'
import { build } from '../helpers/build.js'
import { loadConfig } from '../../src/config.js'

t.test('SERVICE_ROLES: each instance runs only its parts', async (t) => {
  const cases: Array<[string, { api: boolean; tracking: boolean; dispatcher: boolean; maintenance: boolean }]> = [
    ['http,dispatcher,maintenance', { api: true, tracking: true, dispatcher: true, maintenance: true }],
    ['http', { api: true, tracking: true, dispatcher: false, maintenance: false }],
    ['dispatcher', { api: false, tracking: false, dispatcher: true, maintenance: false }],
    ['maintenance', { api: false, tracking: false, dispatcher: false, maintenance: true }],
    [' HTTP , maintenance ', { api: true, tracking: true, dispatcher: false, maintenance: true }],
  ]
  for (const [roles, want] of cases) {
    const { app } = await build(t, { env: { SERVICE_ROLES: roles } })
    const api = await app.inject({ method: 'GET', url: '/v1/offers', headers: { 'api-key': 'test-admin-key-0123456789' } })
    t.equal(api.statusCode, want.api ? 200 : 404, `${roles}: the management API ${want.api ? 'answers' : 'is not served'}`)
    for (const url of ['/click', '/postback']) {
      t.equal(app.hasRoute({ method: 'GET', url }), want.tracking, `${roles}: ${url} ${want.tracking ? 'is served' : 'is not served'}`)
    }
    t.equal(app.dispatcher.started, want.dispatcher, `${roles}: the dispatcher ${want.dispatcher ? 'claims deliveries' : 'does not claim'}`)
    t.equal(app.maintenance.scheduled, want.maintenance, `${roles}: maintenance ${want.maintenance ? 'runs' : 'does not run'}`)
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    t.equal(ready.statusCode, 200, `${roles}: /ready answers on every instance`)
    await app.close()
  }
})

t.test('SERVICE_ROLES and retention settings are checked at start', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ SERVICE_ROLES: 'http,cron' }, /SERVICE_ROLES: "cron" is not a role \(http, dispatcher, maintenance\)/],
    [{ SERVICE_ROLES: ' , ' }, /SERVICE_ROLES: name at least one role/],
    [{ CLICK_RETENTION_DAYS: '0' }, /CLICK_RETENTION_DAYS: must be >= 1/],
    [{ LOG_RETENTION_DAYS: 'a week' }, /LOG_RETENTION_DAYS: must be integer/],
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  const config = loadConfig({})
  t.same([config.clickRetentionDays, config.logRetentionDays, [...config.roles]], [400, 90, ['http', 'dispatcher', 'maintenance']], 'defaults')
})

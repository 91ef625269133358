// `npm run demo`: the whole S2S loop in one command, on the embedded database. It starts the built service
// on 127.0.0.1 in a fresh data directory, sets up a small network over the public HTTP API only (what an
// integrator would do with curl), plays clicks, conversions and a status change, waits for the affiliate
// postbacks at a local receiver, and prints one line per step: ✔, or ✘ and why. Exit 0 when every step passed.
//
//   npm run demo                  stops the service and removes its data at the end
//   npm run demo -- --keep        (or DEMO_KEEP=1) keeps it running to browse the URLs it prints; Ctrl-C stops it
//
// DEMO_DATA_DIR names the data directory instead of a temporary one (it must be empty; it is kept).
// DEMO_SERVER_ENTRY names the server's entry instead of dist/src/server.js (the tests pass a fresh build).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const USAGE = 'usage: npm run demo [-- --keep]   (env: DEMO_KEEP=1, DEMO_DATA_DIR=<empty dir>, DEMO_SERVER_ENTRY=<server.js>)'

/** Bounds: PGlite's first start (migrations) takes seconds on a slow disk; a delivery normally takes milliseconds. */
const READY_TIMEOUT_MS = 60_000
const REQUEST_TIMEOUT_MS = 10_000
const DELIVERY_TIMEOUT_MS = 20_000
/** The service's own graceful shutdown allows in-flight deliveries 30 s; a little more before SIGKILL. */
const STOP_TIMEOUT_MS = 35_000

const args = process.argv.slice(2)
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const unknown = args.filter((arg) => arg !== '--keep')
if (unknown.length > 0) {
  process.stderr.write(`unknown argument ${unknown.join(' ')}\n${USAGE}\n`)
  process.exit(2)
}
const keep = args.includes('--keep') || /^(1|true|yes)$/i.test(process.env.DEMO_KEEP ?? '')
const entry = path.resolve(process.env.DEMO_SERVER_ENTRY ?? path.join(ROOT, 'dist/src/server.js'))
const chosenDataDir = process.env.DEMO_DATA_DIR ? path.resolve(process.env.DEMO_DATA_DIR) : null

// Colour only for a person at a terminal; a pipe or a file gets the same marks without escape codes.
const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text)
const green = (text) => paint(32, text)
const red = (text) => paint(31, text)
const bold = (text) => paint(1, text)
const dim = (text) => paint(2, text)

const say = (line = '') => process.stdout.write(`${line}\n`)

// ---------------------------------------------------------------------------------------------------------
// Steps

class StepFailed extends Error {}

let passed = 0
let failed = false
/** Set once the demo is ending (its steps done and not kept, or interrupted): the service is going away. */
let stopping = false

/** Runs one step: `work` returns what happened (one line, or a line and indented details), or throws why not. */
async function step (title, work) {
  try {
    // Once interrupted, the service is going away: no step starts, and none that was under way reports.
    if (stopping) throw new StepFailed(title)
    const result = await work()
    if (stopping) throw new StepFailed(title)
    const [summary, ...details] = Array.isArray(result) ? result : [result]
    say(`${green('✔')} ${bold(title)}: ${summary}`)
    for (const detail of details) say(`    ${dim(detail)}`)
    passed++
  } catch (err) {
    if (stopping) throw new StepFailed(title)
    say(`${red('✘')} ${bold(title)}: ${red(err instanceof Error ? err.message : String(err))}`)
    failed = true
    throw new StepFailed(title)
  }
}

function check (condition, reason) {
  if (!condition) throw new Error(reason)
}

/** Polls `probe` until it returns something other than undefined, or fails naming `what` at the deadline. */
async function eventually (probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// ---------------------------------------------------------------------------------------------------------
// The service process and the receiver

const work = mkdtempSync(path.join(tmpdir(), 's2s-demo-'))
const dataDir = chosenDataDir ?? path.join(work, 'data')
const logFile = path.join(work, 'service.log')
const adminKey = `demo-admin-${randomBytes(16).toString('hex')}`
let service = null
let origin = ''
let receiver = null

async function freePort () {
  const server = net.createServer()
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

function logTail (lines) {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).map((line) => line.slice(0, 400))
  } catch {
    return []
  }
}

async function startService () {
  check(existsSync(entry), `${entry.startsWith(ROOT) ? path.relative(ROOT, entry) : entry} does not exist: run \`npm run build\` (or \`npm run demo\`, which builds when needed)`)
  if (chosenDataDir !== null && existsSync(chosenDataDir)) {
    check(readdirSync(chosenDataDir).length === 0, `DEMO_DATA_DIR ${chosenDataDir} is not empty: the demo builds its network from nothing, so name an empty or new directory`)
  }
  mkdirSync(dataDir, { recursive: true })
  const port = await freePort()
  origin = `http://127.0.0.1:${port}`
  const log = openSync(logFile, 'a')
  // Only these variables, and a working directory without a .env: a DATABASE_URL set in the shell or in the
  // checkout's .env would otherwise take the demo off the embedded database and into a real one.
  // Detached (its own process group), so a Ctrl-C at the terminal reaches the demo alone, which then stops the
  // service with a single SIGTERM: a second signal would cut the service's graceful shutdown short.
  const child = spawn(process.execPath, [entry], {
    cwd: work,
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: origin,
      DATA_DIR: dataDir,
      ADMIN_API_KEYS: adminKey,
      // The receiver is on loopback, which postbacks may not reach by default.
      POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'info',
    },
  })
  closeSync(log)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  service = { child, exited }
  await eventually(async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) before it was ready; its last log lines:\n${logTail(8).join('\n')}`)
    }
    const res = await fetch(`${origin}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null)
    return res?.ok ? true : undefined
  }, READY_TIMEOUT_MS, 'the service answering /ready')
  return `${origin}, embedded database in ${dataDir}`
}

/** Stops the service with one SIGTERM (its graceful shutdown), SIGKILL if it outstays STOP_TIMEOUT_MS. */
async function stopService () {
  if (service === null) return null
  const { child, exited } = service
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  const outcome = await exited
  clearTimeout(timer)
  service = null
  return outcome
}

/** Once the steps are done and the service keeps running, postbacks from traffic played by hand are printed as they come. */
let watching = false

/** Stands in for the affiliates' own trackers: records every request and answers 200. */
async function startReceiver () {
  const requests = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver.invalid')
      const received = { method: req.method, target: req.url, path: url.pathname, query: url.searchParams, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(received)
      if (watching) say(`  ← postback received: ${received.method} ${received.target}${received.body === '' ? '' : `  body: ${received.body}`}`)
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  receiver = { server, requests, origin: `http://127.0.0.1:${server.address().port}` }
  return `${receiver.origin} (stands in for the affiliates' trackers)`
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: the public API, as the contract defines it

async function api (method, url, { body, key = adminKey, expect } = {}) {
  const res = await fetch(new URL(url, origin), {
    method,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    headers: { ...(key === null ? {} : { 'api-key': key }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json = null
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    json = text
  }
  if (expect !== undefined && res.status !== expect) {
    const problem = json !== null && typeof json === 'object' ? [json.title, json.detail].filter(Boolean).join(': ') : String(text).slice(0, 200)
    const fields = Array.isArray(json?.errors) ? ` (${json.errors.map((e) => `${e.path} ${e.message}`).join('; ')})` : ''
    throw new Error(`${method} ${url} answered ${res.status}, expected ${expect}: ${problem}${fields}`)
  }
  return { status: res.status, json, headers: res.headers }
}

/** The advertiser's side: its platform fills in the macros of the postback URL the offer hands it. */
function advertiserPostback (template, values) {
  const url = new URL(template)
  for (const [name, value] of [...url.searchParams]) {
    const macro = /^\{(\w+)\}$/.exec(value)?.[1]
    if (macro === undefined) continue
    if (values[macro] === undefined) url.searchParams.delete(name)
    else url.searchParams.set(name, values[macro])
  }
  return `${url.pathname}${url.search}`
}

/** A click as a browser makes it, stopping at the 302: the click id is in the advertiser's URL (`cid=`). */
async function click (url) {
  const res = await api('GET', url, { key: null, expect: 302 })
  const location = res.headers.get('location') ?? ''
  const clickid = new URL(location).searchParams.get('cid') ?? ''
  check(/^[0-9a-f]{24}$/.test(clickid), `no click id in the redirect to ${location}`)
  return { location, clickid }
}

const money = (amount, currency) => `${amount} ${currency}`

// ---------------------------------------------------------------------------------------------------------
// The network and the traffic

/** What the steps made, for the steps after them. */
const network = {}

/**
 * A step that creates one thing through the API (201 expected) and keeps it as `network[slot]`; `describe`
 * checks the answer and says what was made. `key` is the admin key unless an affiliate creates it in its panel.
 */
function create (title, slot, url, body, describe, key = adminKey) {
  return step(title, async () => {
    const { json } = await api('POST', url, { key, expect: 201, body })
    const made = describe(json)
    network[slot] = json
    return made
  })
}

async function play () {
  await step('service started', startService)
  await step('postback receiver listening', startReceiver)

  await create('advertiser created', 'advertiser', '/v1/advertisers',
    { name: 'Acme Games', secure_code: `acme-${randomBytes(6).toString('hex')}` },
    (json) => `#${json.id} ${json.name}, whose conversion postbacks must carry its secure code`)

  const offers = [
    ['install', {
      title: 'Puzzle Quest install',
      url: 'https://puzzle.advertiser.example/install?cid={clickid}&pid={pid}&s={sub1}',
      default_conversion_status: 'approved',
      goals: [{ value: '1', title: 'Install', type: 'fixed', revenue: 2.5, payout: 1.8 }],
    }, (json) => [`#${json.id} "${json.title}": goal 1 (Install), revenue ${money(2.5, json.currency)}, payout ${money(1.8, json.currency)}`,
      `the advertiser gets: ${json.advertiser_postback_url.replace(/secure=[^&]*/, 'secure=…')}`]],
    ['shop', {
      title: 'Acme Shop purchase',
      url: 'https://shop.advertiser.example/?cid={clickid}&src={pid}',
      currency: 'EUR',
      goals: [{ value: 'sale', title: 'Purchase', type: 'percent', revenue: 10, payout: 6 }],
    }, (json) => `#${json.id} "${json.title}": goal sale (Purchase), revenue 10% and payout 6% of the order, in ${json.currency}`],
  ]
  for (const [slot, offer, describe] of offers) {
    await create('offer created', slot, '/v1/offers', { advertiser_id: network.advertiser.id, ...offer }, describe)
  }

  for (const [name, email, slot] of [['Partner One', 'ops@partner-one.example', 'one'], ['Partner Two', 'tech@partner-two.example', 'two']]) {
    await create('affiliate created', slot, '/v1/affiliates', { name, email }, (json) => {
      check(typeof json.api_key === 'string', 'the answer carries no api_key')
      return `#${json.id} ${json.name}, API key ${json.api_key} (shown this once)`
    })
  }

  await create('tracking link confirmed & sent', 'linkOne', `/v1/offers/${network.install.id}/tracking-links`,
    { affiliate_id: network.one.id, params: { sub1: '{their_click_id}' }, send: true },
    (json) => {
      check(json.sent_at !== null, 'sent_at is null')
      return `${network.one.name} → offer #${network.install.id}: ${json.url}`
    })

  await create('tracking link confirmed & sent', 'linkTwo', `/v1/offers/${network.shop.id}/tracking-links`,
    { affiliate_id: network.two.id, params: { sub2: 'newsletter' }, shortlink: true, send: true },
    (json) => {
      check(json.sent_at !== null, 'sent_at is null')
      check(json.short_url !== null, 'no short_url')
      return `${network.two.name} → offer #${network.shop.id}: ${json.short_url} (short for ${json.url})`
    })

  await step('affiliate panel shows the sent link', async () => {
    const { json } = await api('GET', `/v1/affiliate/offers/${network.shop.id}/tracking-links`, { key: network.two.api_key, expect: 200 })
    check(json.data.some((link) => link.id === network.linkTwo.id), `link #${network.linkTwo.id} is not in ${network.two.name}'s panel`)
    return `${network.two.name}, with its own key, sees link #${network.linkTwo.id}`
  })

  await create('postback created', 'postbackOne', `/v1/affiliates/${network.one.id}/postbacks`,
    { url: `${receiver.origin}/partner-one?cid={sub1}&payout={sum}&status={status}&offer={offer_id}`, status: 'any' },
    (json) => `#${json.id} for ${network.one.name}, global (every offer), on every event: ${json.method} ${json.url}`)

  await create('postback created', 'postbackTwo', `/v1/affiliate/offers/${network.shop.id}/postbacks`,
    { url: `${receiver.origin}/partner-two?click={sub1}&payout={payout}&currency={currency}&order={transactionid}`, method: 'POST', status: 'approved', goal: 'sale' },
    (json) => `#${json.id} by ${network.two.name} in its panel, local to offer #${network.shop.id}, goal sale, approved only: ${json.method} ${json.url}`,
    network.two.api_key)

  await step('click', async () => {
    network.clickOne = await click(network.linkOne.url.replace('{their_click_id}', 'p1-7781'))
    return [`${network.one.name}'s link (sub1=p1-7781) → 302, click id ${network.clickOne.clickid}`, `to ${network.clickOne.location}`]
  })

  await step('click', async () => {
    network.clickOneAgain = await click(network.linkOne.url.replace('{their_click_id}', 'p1-7782'))
    return `${network.one.name}'s link (sub1=p1-7782) → 302, click id ${network.clickOneAgain.clickid}`
  })

  await step('click', async () => {
    network.clickTwo = await click(`${network.linkTwo.short_url}?sub1=p2-0451`)
    return [`${network.two.name}'s short link (sub1=p2-0451 added) → 302, click id ${network.clickTwo.clickid}`, `to ${network.clickTwo.location}`]
  })

  // The offers' advertiser_postback_url already carries the advertiser's secure code.
  const installPostback = (values) => advertiserPostback(network.install.advertiser_postback_url, values)
  const shopPostback = (values) => advertiserPostback(network.shop.advertiser_postback_url, values)
  /** Sends the advertiser's postback as its platform does (no API key) and returns the 200's answer. */
  const sendPostback = async (url) => (await api('GET', url, { key: null, expect: 200 })).json

  await step('wrong secure code refused', async () => {
    const url = new URL(installPostback({ clickid: network.clickOne.clickid, action_id: 'PQ-1001', goal: '1', status: '1' }), origin)
    url.searchParams.set('secure', 'a-guess')
    const { json } = await api('GET', `${url.pathname}${url.search}`, { key: null, expect: 403 })
    return `403 ${json.detail}: no conversion, only a line in the advertiser postback log`
  })

  await step('conversion approved', async () => {
    const json = await sendPostback(installPostback({ clickid: network.clickOne.clickid, action_id: 'PQ-1001', goal: '1', status: '1' }))
    check(json.conversion_status === 'approved' && json.duplicate === false, `answered ${JSON.stringify(json)}`)
    network.conversionOne = json.conversion_id
    return `${network.one.name}'s click, action PQ-1001 → conversion #${json.conversion_id} approved`
  })

  await step('duplicate de-duplicated', async () => {
    const json = await sendPostback(installPostback({ clickid: network.clickOne.clickid, action_id: 'PQ-1001', goal: '1', status: '1' }))
    check(json.conversion_id === network.conversionOne && json.duplicate === true && json.status_changed === false, `answered ${JSON.stringify(json)}`)
    return `the same postback again → conversion #${json.conversion_id}, duplicate: true, nothing changes, nothing fires`
  })

  await step('conversion pending', async () => {
    const json = await sendPostback(shopPostback({ clickid: network.clickTwo.clickid, action_id: 'ORDER-5521', goal: 'sale', sum: '50', status: '2' }))
    check(json.conversion_status === 'pending' && json.duplicate === false, `answered ${JSON.stringify(json)}`)
    network.conversionTwo = json.conversion_id
    return `${network.two.name}'s click, order ORDER-5521 of 50 → conversion #${json.conversion_id} pending (${network.two.name}'s postback waits for approved)`
  })

  await step('status changed', async () => {
    const json = await sendPostback(shopPostback({ clickid: network.clickTwo.clickid, action_id: 'ORDER-5521', goal: 'sale', sum: '50', status: '1' }))
    check(json.conversion_id === network.conversionTwo && json.conversion_status === 'approved' && json.status_changed === true, `answered ${JSON.stringify(json)}`)
    return `the advertiser approves ORDER-5521 → conversion #${json.conversion_id} pending → approved`
  })

  await step('conversion declined', async () => {
    const json = await sendPostback(installPostback({ clickid: network.clickOneAgain.clickid, action_id: 'PQ-1002', goal: '1', status: '3' }))
    check(json.conversion_status === 'declined', `answered ${JSON.stringify(json)}`)
    network.conversionThree = json.conversion_id
    return `${network.one.name}'s second click, action PQ-1002 → conversion #${json.conversion_id} declined`
  })

  await step('postbacks received', async () => {
    // Partner One's global postback fires on each of its conversions (approved, declined); Partner Two's local
    // one only on the approval; the duplicate fires nothing.
    const got = await eventually(() => {
      const one = receiver.requests.filter((r) => r.path === '/partner-one')
      const two = receiver.requests.filter((r) => r.path === '/partner-two')
      return one.length >= 2 && two.length >= 1 ? { one, two } : undefined
    }, DELIVERY_TIMEOUT_MS, 'three postbacks at the receiver')
    const statuses = got.one.map((r) => `${r.query.get('cid')}:${r.query.get('status')}:${r.query.get('payout')}`).sort()
    check(got.one.length === 2 && JSON.stringify(statuses) === JSON.stringify(['p1-7781:1:1.8', 'p1-7782:3:1.8']),
      `${network.one.name} received ${got.one.map((r) => r.target).join(', ')}`)
    const body = new URLSearchParams(got.two[0]?.body ?? '')
    check(got.two.length === 1 && got.two[0].method === 'POST' && body.get('click') === 'p2-0451' && body.get('payout') === '3' &&
      body.get('currency') === 'EUR' && body.get('order') === 'ORDER-5521', `${network.two.name} received ${got.two.map((r) => `${r.method} ${r.target} ${r.body}`).join(', ')}`)
    return [`${receiver.requests.length} at ${receiver.origin}, each with the affiliate's own click id back`,
      ...receiver.requests.map((r) => `${r.method} ${r.target}${r.body === '' ? '' : `  body: ${r.body}`}`)]
  })

  await step('delivery log', async () => {
    const deliveries = await eventually(async () => {
      const { json } = await api('GET', '/v1/postback-deliveries', { expect: 200 })
      return json.data.length >= 3 && json.data.every((d) => d.state === 'delivered') ? json.data : undefined
    }, DELIVERY_TIMEOUT_MS, 'three delivered deliveries in /v1/postback-deliveries')
    check(deliveries.length === 3, `${deliveries.length} deliveries, expected 3`)
    return [`${deliveries.length} deliveries, all delivered`,
      ...deliveries.map((d) => `#${d.id} postback #${d.postback_id} for conversion #${d.conversion_id}: ${d.state} after ${d.attempts} attempt(s), HTTP ${d.last_http_code}`)]
  })

  await step('conversions', async () => {
    const { json } = await api('GET', '/v1/conversions', { expect: 200 })
    const byId = new Map(json.data.map((c) => [c.id, c]))
    const one = byId.get(network.conversionOne)
    const two = byId.get(network.conversionTwo)
    const three = byId.get(network.conversionThree)
    check(json.data.length === 3 && one && two && three, `${json.data.length} conversions, expected 3`)
    check(one.status === 'approved' && one.payout === 1.8 && one.revenue === 2.5, `#${one.id}: ${one.status}, payout ${one.payout}`)
    check(two.status === 'approved' && two.payout === 3 && two.revenue === 5, `#${two.id}: ${two.status}, payout ${two.payout}, revenue ${two.revenue}`)
    check(JSON.stringify(two.status_history.map((h) => h.to)) === '["pending","approved"]', `#${two.id}: history ${JSON.stringify(two.status_history)}`)
    check(three.status === 'declined', `#${three.id}: ${three.status}`)
    return [`${json.data.length} in /v1/conversions`,
      ...[one, two, three].map((c) => `#${c.id} offer #${c.offer_id}, affiliate #${c.affiliate_id}: ${c.status_history.map((h) => h.to).join(' → ')}, revenue ${money(c.revenue, c.currency)}, payout ${money(c.payout, c.currency)}`)]
  })

  await step('advertiser postback log', async () => {
    const { json } = await api('GET', '/v1/server-postbacks', { expect: 200 })
    const accepted = json.data.filter((p) => p.result === 'accepted').length
    const rejected = json.data.filter((p) => p.result === 'rejected')
    check(json.data.length === 6 && accepted === 5 && rejected[0]?.http_status === 403, `${json.data.length} calls: ${accepted} accepted, ${rejected.length} rejected`)
    check(json.data.every((p) => !('secure' in p.params)), 'a secure code is in the log')
    return `${json.data.length} calls in /v1/server-postbacks: ${accepted} accepted, 1 rejected (403 ${rejected[0].detail}); no secure code logged`
  })

  await step('clicks', async () => {
    const { json } = await api('GET', '/v1/clicks', { expect: 200 })
    check(json.data.length === 3, `${json.data.length} clicks in /v1/clicks, expected 3`)
    return `${json.data.length} in /v1/clicks, with their subs, IP and user agent`
  })

  await step('affiliate panel shows the conversion', async () => {
    const { json } = await api('GET', '/v1/affiliate/conversions', { key: network.two.api_key, expect: 200 })
    check(json.data.length === 1 && json.data[0].id === network.conversionTwo, `${network.two.name} sees ${json.data.map((c) => `#${c.id}`).join(', ') || 'nothing'}`)
    check(!('revenue' in json.data[0]), 'the panel shows the advertiser\'s revenue')
    return `${network.two.name} sees only its own: #${json.data[0].id} ${json.data[0].status}, payout ${money(json.data[0].payout, json.data[0].currency)}, no revenue`
  })
}

function lookAround () {
  const curl = (key, url) => `curl -H 'API-Key: ${key}' ${origin}${url}`
  say()
  say(bold(keep ? 'Look around (the service keeps running):' : 'What to look at (`npm run demo -- --keep` keeps the service up for these):'))
  const rows = [
    ['API docs', `${origin}/docs`],
    ['admin API key', adminKey],
    ['conversions', curl(adminKey, '/v1/conversions')],
    ['affiliate postbacks sent', curl(adminKey, '/v1/postback-deliveries')],
    ['advertiser postbacks', curl(adminKey, '/v1/server-postbacks')],
    ['clicks', curl(adminKey, '/v1/clicks')],
  ]
  if (network.two?.api_key) {
    rows.push([`${network.two.name}'s panel`, curl(network.two.api_key, '/v1/affiliate/conversions')])
    rows.push(['', curl(network.two.api_key, '/v1/affiliate/postback-deliveries')])
  }
  if (network.linkOne !== undefined && network.install !== undefined) {
    // A click of one's own, then its conversion: Partner One's global postback reports it to the receiver.
    rows.push(['a click of your own', `curl -si '${network.linkOne.url.replace('{their_click_id}', 'my-click-1')}' | grep -i location`])
    const conversion = advertiserPostback(network.install.advertiser_postback_url, { clickid: 'CLICKID', action_id: 'PQ-2001', goal: '1', status: '1' })
    rows.push(['then its conversion', `curl '${origin}${conversion}'  (CLICKID: the cid in that location)`])
  }
  for (const [label, value] of rows) say(`  ${label.padEnd(26)}${value}`)
}

// ---------------------------------------------------------------------------------------------------------
// Start, stop and clean up

async function finish (exitCode) {
  if (stopping) return
  stopping = true
  receiver?.server.closeAllConnections()
  receiver?.server.close()
  const hadService = service !== null
  const outcome = await stopService()
  rmSync(work, { recursive: true, force: true })
  const kept = chosenDataDir === null ? 'temporary data removed' : `data kept in ${chosenDataDir} (reopen: DATA_DIR=${chosenDataDir} ADMIN_API_KEYS=${adminKey} npm start)`
  if (hadService) {
    if (outcome === 0) say(`${green('✔')} ${bold('service stopped')}: exit 0, ${kept}`)
    else {
      say(`${red('✘')} ${bold('service stopped')}: ${red(`ended with ${outcome}`)}, ${kept}`)
      exitCode = 1
    }
    say()
  }
  const verdict = exitCode === 0
    ? green(bold(`every step passed (${passed + (hadService ? 1 : 0)})`))
    : red(bold(exitCode === 130 ? 'interrupted: not every step ran' : 'the demo did not pass: see ✘ above'))
  say(verdict)
  process.exit(exitCode)
}

let interrupt = (signal) => {
  say(`${red('✘')} ${bold('interrupted')}: ${signal}`)
  void finish(130)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, (received) => {
    // Repeats are ignored: under `npm run` one Ctrl-C may arrive twice (from the terminal and forwarded by npm),
    // and the service, once it has its SIGTERM, is bounded by STOP_TIMEOUT_MS anyway.
    if (!stopping) interrupt(received)
  })
}
// A crash of the demo itself still stops the service it started.
process.on('exit', () => {
  if (service !== null && service.child.exitCode === null) service.child.kill('SIGTERM')
})

say(bold('s2s-tracker demo: a small affiliate network on the embedded database, from the first click to the affiliate\'s postback'))
say()
try {
  await play()
} catch (err) {
  if (!(err instanceof StepFailed)) {
    say(`${red('✘')} ${bold('demo')}: ${red(err instanceof Error ? err.stack ?? err.message : String(err))}`)
    failed = true
  }
  if (service !== null && !stopping) {
    const tail = logTail(10)
    if (tail.length > 0) process.stderr.write(`the service's last log lines:\n${tail.join('\n')}\n`)
  }
}
if (!stopping && service !== null) lookAround()
if (keep && service !== null && !stopping) {
  say()
  say(`The service runs at ${origin} until you press Ctrl-C (that stops it${chosenDataDir === null ? ' and removes its temporary data' : ''}).`)
  if (receiver !== null) {
    say('Postbacks reaching the receiver from now on are printed here.')
    watching = true
  }
  interrupt = () => { void finish(failed ? 1 : 0) }
} else if (!stopping) {
  say()
  await finish(failed ? 1 : 0)
}

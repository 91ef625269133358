import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { ADMIN_KEY, build } from '../helpers/build.js'
import { startSink } from '../helpers/sink.js'
import { walkThrough } from '../../examples/client.js'

// Contract §6: a client generated from the OpenAPI document (openapi-typescript, openapi-fetch) type-checks and
// works against the real service. examples/client.ts is that client, running the README's walk-through.

const EXAMPLES = new URL('../../examples/', import.meta.url)

/** What examples/api.d.ts must hold: the served document through openapi-typescript (see examples/client.ts for the option). */
async function generatedTypes (document: OpenAPI3): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(document, { defaultNonNullable: false, silent: true }))
}

/** tsc on examples/ with its tsconfig: the diagnostics, formatted. */
function typeCheckExamples (): string {
  const configPath = fileURLToPath(new URL('tsconfig.json', EXAMPLES))
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')) },
  })
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`)
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  const diagnostics = ts.getPreEmitDiagnostics(program)
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => '\n' })
}

interface Answer { method: string; path: string; status: number; contentType: string; body: unknown }

/** Each answer's body against the schema the document gives for that operation and status. */
function schemaViolations (document: OpenAPI3 & { paths: Record<string, Record<string, any>> }, answers: Answer[]): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addFormat('iso4217', /^[A-Z]{3}$/)
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi')
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))
  const problems: string[] = []
  for (const answer of answers) {
    // A literal path wins over a templated one (`/v1/affiliate/me` is not `/{shortcode}`).
    const match = templates.filter(({ pattern }) => pattern.test(answer.path)).sort((a, b) => a.template.split('{').length - b.template.split('{').length)[0]
    const operation = match === undefined ? undefined : document.paths[match.template]?.[answer.method.toLowerCase()]
    const response = operation?.responses?.[String(answer.status)]
    const what = `${answer.method} ${answer.path} → ${answer.status}`
    if (response === undefined) {
      problems.push(`${what}: not in the document`)
      continue
    }
    const schema = response.content?.[answer.contentType]?.schema
    if (schema === undefined) {
      if (answer.body !== undefined) problems.push(`${what}: a ${answer.contentType} body the document does not describe`)
      continue
    }
    const validate = ajv.compile(rewriteRefs(schema) as object)
    if (!validate(answer.body)) problems.push(`${what}: ${ajv.errorsText(validate.errors)}`)
  }
  return problems
}

/** `#/...` references, pointed at the document registered as `openapi`. */
function rewriteRefs (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs)
  if (schema === null || typeof schema !== 'object') return schema
  return Object.fromEntries(Object.entries(schema).map(([key, value]) =>
    [key, key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi${value}` : rewriteRefs(value)]))
}

t.test('the example client: types generated from the served document, type-checked, run against a live service', async (t) => {
  const { app } = await build(t)
  const served = await app.inject({ method: 'GET', url: '/openapi.json' })
  const document = served.json() as OpenAPI3 & { paths: Record<string, Record<string, any>> }

  const committed = await readFile(new URL('api.d.ts', EXAMPLES), 'utf8').catch(() => '')
  t.equal(committed, await generatedTypes(structuredClone(document)), 'examples/api.d.ts is up to date: run `npm run openapi`')
  t.equal(typeCheckExamples(), '', 'examples/ type-checks against the generated types')

  const sink = await startSink(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const answers: Answer[] = []
  const recordingFetch = async (request: Request) => {
    const response = await fetch(request)
    const text = await response.clone().text()
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0] ?? ''
    answers.push({
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      contentType,
      body: text === '' ? undefined : contentType.endsWith('json') ? JSON.parse(text) : text,
    })
    return response
  }

  const run = await walkThrough(baseUrl, ADMIN_KEY, { receiverUrl: `${sink.origin}/pb`, fetch: recordingFetch })

  t.equal(run.advertiser.name, 'Acme Ads', 'advertiser')
  t.equal(run.offer.advertiser_id, run.advertiser.id, 'offer: of the advertiser')
  t.same(run.offer.goals, [{ value: '1', title: 'Install', type: 'fixed', revenue: 2.5, payout: 1.8 }], 'offer: its goal, amounts as sent')
  t.equal(run.offer.status, 'active', 'offer: defaults filled in by the service')
  t.match(run.offer.advertiser_postback_url, /\/postback\?clickid=\{clickid\}&action_id=\{action_id\}&goal=\{goal\}&sum=\{sum\}&status=\{status\}$/, 'offer: the URL to hand the advertiser')
  t.match(run.affiliate.api_key, /^aff_/, 'affiliate: its key, shown once')
  t.match(run.link.url, new RegExp(`/click\\?pid=${run.affiliate.id}&offer_id=${run.offer.id}&sub1=\\{their_click_id\\}$`), 'link: the macro stays literal')
  t.not(run.link.sent_at, null, 'link: sent')
  t.same(run.panelLinks.map((link) => link.id), [run.link.id], 'the affiliate sees the sent link in its panel')
  t.equal(run.postback.status, 'approved', 'postback: fires on approved conversions')
  t.match(run.clickid, /^[0-9a-f]{24}$/, 'click: a click id')
  t.equal(run.location, `https://advertiser.example/land?cid=${run.clickid}&s=abc`, 'click: redirected to the offer URL, macros filled in')
  t.same(run.conversion, { status: 1, conversion_id: run.conversion.conversion_id, conversion_status: 'approved', duplicate: false, status_changed: false },
    'postback: a new approved conversion')
  t.equal(run.deliveries.length, 1, 'one delivery for the conversion')
  t.equal(run.deliveries[0]?.state, 'delivered', 'delivered')
  const received = sink.to('/pb')
  t.equal(received.length, 1, 'the receiver got the postback once')
  t.equal(received[0]?.url, '/pb?cid=abc&payout=1.8&status=1', 'with the sub, the payout and the numeric status')

  t.ok(answers.length >= 10, 'every step went through the client')
  t.same(schemaViolations(document, answers), [], 'every answer matches its schema in the document')
})

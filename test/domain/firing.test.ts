import t from 'tap'
import {
  resolveFiringPostbacks,
  triggerFits,
  type FiringCandidate,
  type FiringEvent,
  type IntegrationMethod,
  type PostbackIntegrationFilter,
  type PostbackTrigger,
} from '../../src/domain/firing.js'
import { CONVERSION_STATUSES, type ConversionStatus } from '../../src/domain/statuses.js'

const KINDS = ['created', 'status_changed'] as const
const TRIGGERS: PostbackTrigger[] = ['any', 'created', 'approved', 'pending', 'declined', 'hold']
const FILTERS: PostbackIntegrationFilter[] = ['all', 'default', 'probabilistic']
const METHODS: IntegrationMethod[] = ['default', 'probabilistic']

// The trigger rule written out by hand, one row per (trigger, event kind): the statuses it fires on.
const TRIGGER_TABLE: Record<PostbackTrigger, Record<FiringEvent['kind'], ConversionStatus[]>> = {
  any: { created: ['approved', 'pending', 'declined', 'hold'], status_changed: ['approved', 'pending', 'declined', 'hold'] },
  created: { created: ['approved', 'pending', 'declined', 'hold'], status_changed: [] },
  approved: { created: ['approved'], status_changed: ['approved'] },
  pending: { created: ['pending'], status_changed: ['pending'] },
  declined: { created: ['declined'], status_changed: ['declined'] },
  hold: { created: ['hold'], status_changed: ['hold'] },
}

let nextId = 1
function postback (fields: Partial<FiringCandidate> & { offerId: number | null }): FiringCandidate {
  return { id: nextId++, status: 'any', goal: null, integrationMethod: 'all', forceGlobal: false, ...fields }
}

function event (fields: Partial<FiringEvent> = {}): FiringEvent {
  return { kind: 'created', status: 'approved', goal: 'sale', integrationMethod: 'default', ...fields }
}

t.test('trigger table', async (t) => {
  for (const trigger of TRIGGERS) {
    for (const kind of KINDS) {
      for (const status of CONVERSION_STATUSES) {
        const fires = TRIGGER_TABLE[trigger][kind].includes(status)
        t.equal(triggerFits(trigger, { kind, status }), fires, `${trigger} on ${kind} → ${status}`)
      }
    }
  }
})

type GoalCase = 'null' | 'same' | 'same-other-case' | 'other'
const GOAL_CASES: [GoalCase, string | null, boolean][] = [
  ['null', null, true],
  ['same', 'sale', true],
  ['same-other-case', 'SaLe', true],
  ['other', 'lead', false],
]

// Every combination for one postback's own fields, local or global, alone or beside a sibling local
// that matches / does not match; the expected verdict is built from the rule's clauses, one by one.
t.test('generated table: trigger × kind × status × goal × method × local/global × siblings × force', async (t) => {
  let rows = 0
  for (const trigger of TRIGGERS) {
    for (const kind of KINDS) {
      for (const status of CONVERSION_STATUSES) {
        for (const [goalCase, goal, goalOk] of GOAL_CASES) {
          for (const filter of FILTERS) {
            for (const method of METHODS) {
              const ev = event({ kind, status, goal: 'sale', integrationMethod: method })
              const triggerOk = TRIGGER_TABLE[trigger][kind].includes(status)
              const methodOk = filter === 'all' || filter === method
              const label = `${trigger}/${kind}/${status}/goal:${goalCase}/${filter}/${method}`

              // Alone as a local: goal counts.
              const local = postback({ offerId: 1, status: trigger, goal, integrationMethod: filter })
              const localFires = triggerOk && methodOk && goalOk
              t.same(resolveFiringPostbacks(ev, [local], []), localFires ? [local] : [], `local ${label}`)

              for (const force of [false, true]) {
                // Globals carry no goal of their own; a stray one is ignored.
                const global = postback({ offerId: null, status: trigger, goal, integrationMethod: filter, forceGlobal: force })
                const globalMatches = triggerOk && methodOk
                const g = `global force:${force} ${label}`

                t.same(resolveFiringPostbacks(ev, [], [global]), globalMatches ? [global] : [], `${g}, no locals`)

                const hit = postback({ offerId: 1, status: 'any' })
                t.same(resolveFiringPostbacks(ev, [hit], [global]), [hit], `${g}, a local matched`)

                const miss = postback({ offerId: 1, status: 'any', goal: 'other-goal' })
                const forced = globalMatches && force
                t.same(resolveFiringPostbacks(ev, [miss], [global]), forced ? [global] : [], `${g}, locals exist but none matched`)
                rows += 4
              }
              rows++
            }
          }
        }
      }
    }
  }
  t.equal(rows, 6 * 2 * 4 * 4 * 3 * 2 * 9, 'every combination was checked')
})

t.test('scenarios', async (t) => {
  const ev = event({ kind: 'status_changed', status: 'declined', goal: 'Deposit', integrationMethod: 'probabilistic' })
  const localAny = postback({ offerId: 1 })
  const localApproved = postback({ offerId: 1, status: 'approved' })
  const localDeposit = postback({ offerId: 1, status: 'declined', goal: 'deposit', integrationMethod: 'probabilistic' })
  const localDefaultOnly = postback({ offerId: 1, integrationMethod: 'default' })
  const globalPlain = postback({ offerId: null })
  const globalForced = postback({ offerId: null, forceGlobal: true })
  const globalForcedCreated = postback({ offerId: null, status: 'created', forceGlobal: true })

  const cases: [string, FiringCandidate[], FiringCandidate[], FiringCandidate[]][] = [
    ['nothing configured', [], [], []],
    ['all matching locals fire, in input order, globals do not',
      [localDeposit, localApproved, localAny], [globalPlain, globalForced], [localDeposit, localAny]],
    ['no locals: every matching global fires, in order',
      [], [globalForced, globalForcedCreated, globalPlain], [globalForced, globalPlain]],
    ['locals exist, none matched: only forced matching globals',
      [localApproved, localDefaultOnly], [globalPlain, globalForcedCreated, globalForced], [globalForced]],
    ['locals exist, none matched, nothing forced', [localApproved], [globalPlain], []],
    ['a matching local silences even forced globals', [localAny], [globalForced], [localAny]],
  ]
  for (const [name, locals, globals, expected] of cases) {
    t.same(resolveFiringPostbacks(ev, locals, globals).map((p) => p.id), expected.map((p) => p.id), name)
  }
})

t.test('keeps the caller\'s own postback type', async (t) => {
  const withUrl = { ...postback({ offerId: 3 }), url: 'https://aff.example/pb' }
  const [fired] = resolveFiringPostbacks(event(), [withUrl], [])
  t.equal(fired?.url, 'https://aff.example/pb')
})

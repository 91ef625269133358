import t from 'tap'
import { build } from '../helpers/build.js'
import { advertiserPostback, getConversion, patchConversion } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

const STATUSES = ['approved', 'pending', 'declined', 'hold'] as const
const NUMBER = { approved: '1', pending: '2', declined: '3', hold: '5' } as const

t.test('the status-change table: every from × to, by the advertiser and by an admin', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { hold_period_days: 3 })
  let n = 0
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      for (const source of ['advertiser', 'admin'] as const) {
        n += 1
        const actionId = `t-${n}`
        const created = await advertiserPostback(app, { clickid: s.clickid, action_id: actionId, status: NUMBER[from] })
        t.equal(created.json().conversion_status, from)
        const id = created.json().conversion_id as number
        const label = `${source}: ${from} → ${to}`

        let expectChange: boolean
        if (source === 'advertiser') {
          const res = await advertiserPostback(app, { clickid: s.clickid, action_id: actionId, status: NUMBER[to] })
          expectChange = from === 'pending' && to !== 'pending'
          if (from === to) t.match(res.json(), { duplicate: true, status_changed: false, conversion_status: from }, `${label}: idempotent`)
          else if (expectChange) t.match(res.json(), { duplicate: true, status_changed: true, conversion_status: to }, `${label}: changed`)
          else t.match([res.statusCode, res.json().detail], [409, 'Conversion status is not pending'], `${label}: 409`)
        } else {
          const res = await patchConversion(app, id, { status: to })
          t.equal(res.statusCode, 200, `${label}: 200`)
          t.equal(res.json().status, to)
          expectChange = from !== to
        }

        const conversion = await getConversion(app, id)
        t.equal(conversion.status, expectChange ? to : from, `${label}: final status`)
        const history = conversion.status_history.map((event) => [event.from, event.to, event.source])
        t.same(history, expectChange ? [[null, from, 'advertiser'], [from, to, source]] : [[null, from, 'advertiser']], `${label}: history`)
        // hold_until is set while on hold (the offer holds for 3 days) and cleared on leaving it.
        t.equal(conversion.hold_until !== null, conversion.status === 'hold', `${label}: hold_until`)
      }
    }
  }
})

t.test('admin PATCH: revenue, payout, comment; validation; 404', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { goals: [{ value: '1', type: 'fixed', revenue: 5, payout: 2 }] })
  const id = (await advertiserPostback(app, { clickid: s.clickid, comment: 'adv' })).json().conversion_id as number

  const res = await patchConversion(app, id, { revenue: 0.1, payout: 0.2, comment: 'checked' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { revenue: 0.1, payout: 0.2, comment: 'checked', status: 'pending' })
  t.equal(res.json().status_history.length, 1, 'no status change, no event')
  t.equal((await patchConversion(app, id, { comment: null })).json().comment, null, 'null clears the comment')
  t.equal((await patchConversion(app, id, {})).statusCode, 200, 'an empty patch changes nothing')

  const bad: [Record<string, unknown>, string][] = [
    [{ status: 'paid' }, '/status'],
    [{ revenue: -1 }, '/revenue'],
    [{ payout: 0.00001 }, '/payout'],
    [{ payout: '5' }, '/payout'],
    [{ sum: 5 }, '/sum'],
  ]
  for (const [body, path] of bad) {
    const answer = await patchConversion(app, id, body)
    t.equal(answer.statusCode, 400, JSON.stringify(body))
    t.equal(answer.json().errors?.[0]?.path, path)
  }
  t.equal((await patchConversion(app, 987654321, { status: 'approved' })).statusCode, 404)
})

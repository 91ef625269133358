import t from 'tap'
import { build } from '../helpers/build.js'
import { advertiserPostback, getConversion } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

t.test('20 identical postbacks at once create exactly one conversion', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const variants: Record<string, string>[] = [{ clickid: s.clickid }, { clickid: s.clickid, action_id: 'same-order', status: '1' }]
  for (const params of variants) {
    const answers = await Promise.all(Array.from({ length: 20 }, () => advertiserPostback(app, params)))
    t.same(answers.map((res) => res.statusCode), Array(20).fill(200), `${JSON.stringify(params)}: all accepted`)
    const ids = new Set(answers.map((res) => res.json().conversion_id))
    t.equal(ids.size, 1, 'one conversion')
    t.equal(answers.filter((res) => res.json().duplicate === false).length, 1, 'one creation')
    t.equal(answers.filter((res) => res.json().duplicate === true).length, 19, '19 idempotent duplicates')
    const [id] = ids
    const events = await app.db.selectFrom('conversion_events').select('id').where('conversion_id', '=', id as number).execute()
    t.equal(events.length, 1, 'one event')
  }
  const rows = await app.db.selectFrom('conversions').select('id').where('offer_id', '=', s.offer.id).execute()
  t.equal(rows.length, 2)
  const log = await app.db.selectFrom('server_postbacks').select('id').where('result', '=', 'accepted').execute()
  t.equal(log.length, 40, 'every call logged')
})

t.test('different statuses racing on one pending conversion: exactly one change wins', async (t) => {
  const { app } = await build(t)
  for (let round = 0; round < 5; round++) {
    const s = await clickScene(app)
    const created = await advertiserPostback(app, { clickid: s.clickid, action_id: 'race', status: '2' })
    const id = created.json().conversion_id
    const statuses = ['1', '3', '5', '1', '3', '5', '1', '3']
    const answers = await Promise.all(statuses.map((status) => advertiserPostback(app, { clickid: s.clickid, action_id: 'race', status })))
    const winners = answers.filter((res) => res.statusCode === 200 && res.json().status_changed === true)
    t.equal(winners.length, 1, `round ${round}: one winner`)
    const final = (await getConversion(app, id)).status
    t.equal(winners[0]?.json().conversion_status, final)
    for (const res of answers) {
      if (res === winners[0]) continue
      if (res.statusCode === 200) t.match(res.json(), { duplicate: true, status_changed: false, conversion_status: final }, 'a loser with the same status is a duplicate')
      else t.match(res.json(), { status: 409, detail: 'Conversion status is not pending' }, 'a loser with another status is a 409')
    }
    const events = await app.db.selectFrom('conversion_events').select('id').where('conversion_id', '=', id).execute()
    t.equal(events.length, 2, 'creation + one change')
  }
})

t.test('many different postbacks at once: each answer, event and log entry belongs to its own conversion', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app, { goals: [{ value: '1', type: 'percent', revenue: 10, payout: 5 }] })
  const orders = Array.from({ length: 60 }, (_, i) => ({ clickid: s.clickid, action_id: `order-${i}`, sum: String(i + 1), comment: `c${i}`, tag: `t${i}` }))
  const answers = await Promise.all(orders.map((params) => advertiserPostback(app, params)))
  t.ok(answers.every((res) => res.statusCode === 200 && res.json().duplicate === false), 'all created')
  t.equal(new Set(answers.map((res) => res.json().conversion_id)).size, 60)
  for (const [i, res] of answers.entries()) {
    const id = res.json().conversion_id as number
    const conversion = await app.db.selectFrom('conversions').select(['action_id', 'sum', 'payout', 'comment']).where('id', '=', id).executeTakeFirstOrThrow()
    t.same(conversion, { action_id: `order-${i}`, sum: `${i + 1}.0000`, payout: (((i + 1) * 5) / 100).toFixed(4), comment: `c${i}` }, `answer ${i} names its own conversion`)
    const logged = await app.db.selectFrom('server_postbacks').select(['params']).where('conversion_id', '=', id).execute()
    t.same(logged.map((row) => row.params.tag), [`t${i}`], `log entry ${i}`)
    const events = await app.db.selectFrom('conversion_events').select('id').where('conversion_id', '=', id).execute()
    t.equal(events.length, 1, `event ${i}`)
  }
})

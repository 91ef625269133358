import t from 'tap'
import { formatAmountPlain, parseAmount, type Amount } from '../../src/domain/money.js'
import { conversionAmounts } from '../../src/domain/payout.js'

const a = (text: string): Amount => {
  const amount = parseAmount(text)
  if (amount === null) throw new Error(`bad amount ${text}`)
  return amount
}

t.test('conversionAmounts', async (t) => {
  const cases: { name: string; type: 'fixed' | 'percent'; revenue: string; payout: string; sum: string | null; expect: [string, string] | null }[] = [
    { name: 'fixed copies amounts', type: 'fixed', revenue: '5.5', payout: '3', sum: null, expect: ['5.5', '3'] },
    { name: 'fixed ignores sum', type: 'fixed', revenue: '0.1', payout: '0.2', sum: '1000', expect: ['0.1', '0.2'] },
    { name: 'percent of 150', type: 'percent', revenue: '20', payout: '60', sum: '150', expect: ['30', '90'] },
    { name: 'percent exact decimals', type: 'percent', revenue: '10', payout: '30', sum: '0.3', expect: ['0.03', '0.09'] },
    { name: 'percent rounds half-up', type: 'percent', revenue: '50', payout: '33.3333', sum: '0.0001', expect: ['0.0001', '0'] },
    { name: 'percent rounds half-up (2)', type: 'percent', revenue: '12.5', payout: '100', sum: '0.0004', expect: ['0.0001', '0.0004'] },
    { name: 'percent of zero', type: 'percent', revenue: '20', payout: '60', sum: '0', expect: ['0', '0'] },
    { name: 'percent without sum', type: 'percent', revenue: '20', payout: '60', sum: null, expect: null },
  ]
  for (const c of cases) {
    const result = conversionAmounts({ type: c.type, revenue: a(c.revenue), payout: a(c.payout) }, c.sum === null ? null : a(c.sum))
    t.same(result === null ? null : [formatAmountPlain(result.revenue), formatAmountPlain(result.payout)], c.expect, c.name)
  }
})

import t from 'tap'
import { accessDenied, conflict, invalidInput, notFound, ruleViolation } from '../../src/domain/errors.js'
import { asProblem, HttpProblem } from '../../src/http/problem.js'

// The one translation of domain errors to problems: each code is one problem kind (and so one status), and the
// detail and field errors pass through as they are.
t.test('domain errors as problems', async (t) => {
  const cases = [
    { error: invalidInput('sum must be an amount', '/sum'), kind: 'validation-error', status: 400, errors: [{ path: '/sum', message: 'sum must be an amount' }] },
    { error: invalidInput('cursor is not ours'), kind: 'validation-error', status: 400, errors: undefined },
    { error: notFound('Offer'), kind: 'not-found', status: 404, errors: undefined },
    { error: accessDenied('Access denied'), kind: 'access-denied', status: 403, errors: undefined },
    { error: ruleViolation('Goal not found', '/goal'), kind: 'rule-violation', status: 422, errors: [{ path: '/goal', message: 'Goal not found' }] },
    { error: conflict('Conversion exists'), kind: 'conflict', status: 409, errors: undefined },
  ]
  for (const c of cases) {
    const problem = asProblem(c.error)
    t.equal(problem?.kind, c.kind, `${c.error.code}: kind`)
    t.equal(problem?.status, c.status, `${c.error.code}: status`)
    t.equal(problem?.message, c.error.message, `${c.error.code}: detail`)
    t.same(problem?.errors, c.errors, `${c.error.code}: field errors`)
  }
  t.equal(notFound('Offer').message, 'Offer not found')
})

t.test('other errors', async (t) => {
  const own = new HttpProblem('method-not-allowed', 'Use GET', { headers: { allow: 'GET' } })
  t.equal(asProblem(own), own, 'an HttpProblem is its own problem')
  t.equal(asProblem(new Error('boom')), undefined, 'anything else is not a problem a client sees as such')
  t.equal(asProblem('text'), undefined)
})

import { hostname } from 'node:os'
import t from 'tap'
import { isGoneLocalHolder, newHolderId } from '../../src/dispatch/holder.js'

const host = hostname()
const alive = new Set([4242])
const isAlive = (pid: number) => alive.has(pid)
const mine = newHolderId()
const [, , myStart] = mine.split(':')

t.test('a lease holder is gone only when it is provably a dead process of this host', async (t) => {
  const cases: [string, string, boolean][] = [
    ['this app', mine, false],
    ['this app, resending', `${mine}/resend/0a1b2c3d`, false],
    ['another app in this process', `${host}:${process.pid}:${myStart}:ffffffff`, false],
    ['an earlier process with our pid (a restarted container)', `${host}:${process.pid}:abc123:0a1b2c3d`, true],
    ['a live process of this host', `${host}:4242:abc123:0a1b2c3d`, false],
    ['a dead process of this host', `${host}:4243:abc123:0a1b2c3d`, true],
    ['a dead process of this host, resending', `${host}:4243:abc123:0a1b2c3d/resend/01234567`, true],
    ['another host', `not-${host}:4243:abc123:0a1b2c3d`, false],
    ['an older holder shape without a start', `${host}:4243`, false],
    ['garbage after the host', `${host}:x:y:z`, false],
    ['empty', '', false],
  ]
  for (const [name, holder, gone] of cases) t.equal(isGoneLocalHolder(holder, isAlive), gone, name)
})

t.test('holder ids name this host and process and differ per app', async (t) => {
  const other = newHolderId()
  t.not(other, mine)
  t.match(mine, new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${process.pid}:[0-9a-z]+:[0-9a-f]{8}$`))
})

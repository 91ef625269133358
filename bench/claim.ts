/**
 * The dispatcher's database work alone: PostgreSQL backend CPU per delivery for the claim and the record of
 * attempts (the two functions `claim_postback_deliveries` and `record_postback_attempts`), on a fresh
 * database migrated to the latest schema, with no HTTP, no app and no load generator beside it. The end-to-end
 * benchmarks share two cores between four processes; this one isolates what a schema or plan change does.
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/claim.js
 *
 * BENCH_CLAIM_DELIVERIES (20,000) pending deliveries are written, then claimed 25 at a time while about
 * BENCH_CLAIM_HELD (125: a busy dispatcher's slots and parked rows) stay leased, each recorded as delivered
 * once it leaves the held window. BENCH_CLAIM_SQL names a file of SQL run before the backlog is written (to
 * try a variant: `alter table postback_deliveries reset (fillfactor)`). BENCH_PG_URL as for the others.
 */
import { readFileSync } from 'node:fs'
import pg from 'pg'
import pino from 'pino'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { freshDatabase } from './children.js'

const DELIVERIES = Number(process.env.BENCH_CLAIM_DELIVERIES ?? 20_000)
const HELD = Number(process.env.BENCH_CLAIM_HELD ?? 125)
const BATCH = 25
const HOLDER = 'bench-holder'

/** CPU time (user + system) of one PostgreSQL backend, in µs. USER_HZ is 100 on every Linux this runs on. */
function backendCpuMicros (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

const claim = {
  name: 'bench_claim',
  text: 'select c.id from claim_postback_deliveries($1, 60000, $2::int, false, \'{}\'::text[]) c',
}
const record = {
  name: 'bench_record',
  text: `select r.id from record_postback_attempts($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::int[],
    $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[]) r`,
}

async function main (): Promise<void> {
  const database = await freshDatabase()
  const client = new pg.Client({ connectionString: database.url })
  try {
    const log = pino({ level: 'silent' })
    const handle = await openDatabase({ databaseUrl: database.url, dataDir: null }, log)
    await migrateToLatest(handle.db, log)
    await handle.close()

    await client.connect()
    if (process.env.BENCH_CLAIM_SQL) await client.query(readFileSync(process.env.BENCH_CLAIM_SQL, 'utf8'))
    await client.query(
      `insert into postback_deliveries (postback_id, conversion_id, event_id, affiliate_id, method, url, state, next_attempt_at)
       select 1, 0, -g, 1, 'GET', 'http://receiver.example/p?c=' || g, 'pending', now() from generate_series(1, $1::int) g`,
      [DELIVERIES]
    )
    await client.query('analyze postback_deliveries')
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid

    const held: number[] = []
    let recorded = 0
    let statements = 0
    const recordBatch = async (ids: number[]) => {
      const all = <T>(value: T) => ids.map(() => value)
      await client.query({
        ...record,
        values: [ids, all(HOLDER), all(new Date().toISOString()), all(200), all(3), all('ok'), all(null), all('delivered'), all(null), all(true)],
      })
      recorded += ids.length
      statements += 1
    }
    const cpuBefore = backendCpuMicros(pid)
    const started = performance.now()
    // eslint-disable-next-line no-unmodified-loop-condition -- recordBatch (awaited below) advances `recorded`
    while (recorded < DELIVERIES) {
      const rows = (await client.query<{ id: number }>({ ...claim, values: [HOLDER, BATCH] })).rows
      statements += 1
      held.push(...rows.map((row) => Number(row.id)))
      while (held.length > HELD || (rows.length === 0 && held.length > 0)) await recordBatch(held.splice(0, BATCH))
    }
    const wallMicros = (performance.now() - started) * 1000
    const cpuMicros = backendCpuMicros(pid) - cpuBefore
    console.log(`claim + record of ${DELIVERIES} deliveries, ${BATCH} per statement, ${HELD} leased at a time (${statements} statements)`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'PostgreSQL backend CPU per delivery', value: (cpuMicros / DELIVERIES).toFixed(1), unit: 'µs' })}`)
    console.log(`BENCH_ROW ${JSON.stringify({ measure: 'wall time per delivery (one connection)', value: (wallMicros / DELIVERIES).toFixed(1), unit: 'µs' })}`)
  } finally {
    await client.end().catch(() => {})
    await database.drop()
  }
}

await main()

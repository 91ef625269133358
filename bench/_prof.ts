import pino from 'pino'
import { openDatabase } from '../src/db/database.js'
import { buildReport } from '../src/stats/service.js'
const handle = await openDatabase({ databaseUrl: process.argv[2] as string, dataDir: null }, pino({ level: 'silent' }))
const db = handle.db
for (const group_by of ['day,offer', 'day,affiliate']) {
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    const r = await buildReport(db, { from: process.argv[3], to: process.argv[4], timezone: 'Asia/Kolkata', group_by, limit: 100 } as never, 'admin')
    console.log(group_by, (performance.now() - t0).toFixed(1), r.rows.length)
  }
}
await handle.close()

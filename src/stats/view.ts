import { figuresToJson, visibleMetrics, type Audience, type Figures, type ReportRow } from './report.js'
import type { StatsReport } from './service.js'

/** A row as JSON: its group fields in `group_by` order, then `currency` and the metrics the audience may see. */
export function rowToApi (row: ReportRow, groupColumns: readonly string[], audience: Audience): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const column of groupColumns) out[column] = row.keys[column]
  out.currency = row.currency
  return { ...out, ...figuresToJson(row.figures, visibleMetrics(audience)) }
}

function totalsToApi (total: { currency: string; figures: Figures }, audience: Audience) {
  return { currency: total.currency, ...figuresToJson(total.figures, visibleMetrics(audience)) }
}

export function reportToApi (report: StatsReport, audience: Audience) {
  return {
    data: report.rows.map((row) => rowToApi(row, report.groupColumns, audience)),
    next_cursor: report.nextCursor,
    totals: report.totals.map((total) => totalsToApi(total, audience)),
    as_of: report.asOf.toISOString(),
    from: new Date(report.period.from).toISOString(),
    to: new Date(report.period.to).toISOString(),
    timezone: report.period.zone,
  }
}

/** CSV when the client asks for it before (or instead of) JSON. */
export function wantsCsv (accept: string | undefined): boolean {
  if (accept === undefined) return false
  const types = accept.toLowerCase().split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim())
    const q = params.find((p) => p.startsWith('q='))
    return { type, q: q === undefined ? 1 : Number(q.slice(2)) }
  })
  const csv = types.find((t) => t.type === 'text/csv')
  if (csv === undefined || !(csv.q > 0)) return false
  const json = types.find((t) => t.type === 'application/json')
  return json === undefined || csv.q > json.q || (csv.q === json.q && types.indexOf(csv) < types.indexOf(json))
}

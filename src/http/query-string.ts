/**
 * Query strings are parsed so that a repeated parameter keeps its first value (the contract's rule for
 * /postback, applied everywhere for one behaviour). Undecodable percent-escapes become U+FFFD instead of
 * failing, so garbage in a click URL still gets an answer.
 */
export function parseQueryString (raw: string): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [name, value] of new URLSearchParams(raw)) {
    if (!(name in result)) result[name] = value
  }
  return result
}

import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { ConfigError } from './config.js'

const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(.*)$/

/**
 * Checks every line of a .env text before Node's parser reads it: `parseEnv` skips or merges lines it does
 * not understand, so a typo would silently leave a variable at its default. A value opened with a quote may
 * run over several lines until the same quote closes it.
 */
export function checkDotEnv (text: string, file: string): void {
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue
    const match = ASSIGNMENT.exec(line)
    if (match === null) throw new ConfigError(`${file} line ${i + 1}: expected NAME=value, found "${line.slice(0, 80)}"`)
    const value = match[1] ?? ''
    const quote = value[0]
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) {
      const opened = i
      while (i + 1 < lines.length && !(lines[i + 1] ?? '').includes(quote)) i++
      if (i + 1 >= lines.length) throw new ConfigError(`${file} line ${opened + 1}: the quote ${quote} is never closed`)
      i++
    }
  }
}

/**
 * The variables of `file` (a .env in the working directory), or none when there is no such file.
 * Variables already set in the environment win, as every .env loader does.
 */
export function withDotEnv (env: NodeJS.ProcessEnv, file = '.env'): Record<string, string | undefined> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return env
    throw new ConfigError(`${file}: cannot be read (${(err as Error).message})`)
  }
  checkDotEnv(text, file)
  return { ...parseEnv(text), ...env }
}

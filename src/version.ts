import { readFileSync } from 'node:fs'

// Read once at start; works from src/ (tests) and dist/src/ (production) alike.
function findVersion (): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 's2s-tracker' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // try the next location
    }
  }
  return '0.0.0'
}

export const VERSION = findVersion()

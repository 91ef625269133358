// Runs before `npm start` and `npm run migrate`: rebuilds dist/ only when a source is newer than the last
// build (or there is none), so a start costs a directory walk instead of a TypeScript compile. Where there
// are no sources (the container image ships dist/ alone), there is nothing to check.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'

const STAMP = 'dist/.build-stamp'
const INPUTS = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']

function newest (entry) {
  if (!existsSync(entry)) return 0
  const stat = statSync(entry)
  if (!stat.isDirectory()) return stat.mtimeMs
  let latest = stat.mtimeMs // a deleted file shows as a newer directory
  for (const name of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, name)))
  return latest
}

if (existsSync('src')) {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0
  const sources = Math.max(...INPUTS.map(newest))
  if (sources > built) {
    process.stderr.write(built === 0 ? 'no build yet: compiling\n' : 'sources changed since the last build: compiling\n')
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
  }
}

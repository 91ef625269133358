import { readFileSync } from 'node:fs'
import semver from 'semver'
import t from 'tap'

// The service runs on Node 20 and newer (package.json `engines`): every package it installs for production must
// accept the oldest Node that range allows. A dependency's minor release can raise its floor (content-disposition 3
// and cookie 2 need Node 22); overrides in package.json keep those on lines that run on 20.
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
const lockfile = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string, dev?: boolean, engines?: { node?: string } | string[] }>
}

t.test('every production dependency accepts the oldest Node the service supports', async (t) => {
  const oldest = semver.minVersion(manifest.engines.node)
  t.ok(oldest, 'engines.node names a minimum version')
  const refusing = Object.entries(lockfile.packages)
    .filter(([path, entry]) => path !== '' && entry.dev !== true)
    .flatMap(([path, entry]) => {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node
      return range !== undefined && !semver.satisfies(oldest!, range) ? [`${path}@${entry.version} needs node ${range}`] : []
    })
  t.same(refusing, [])
})

t.test('the lockfile names no download address', async (t) => {
  const withAddress = Object.entries(lockfile.packages).filter(([, entry]) => 'resolved' in entry).map(([path]) => path)
  t.same(withAddress, [])
})

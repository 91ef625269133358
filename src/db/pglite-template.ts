import { existsSync, readFileSync } from 'node:fs'
import { chmod, copyFile, cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'

/**
 * A new, empty embedded database, made once when the service is built (`npm run build`) and copied into a
 * DATA_DIR that holds none yet. Creating one at the first start instead (PGlite's initdb) runs a second
 * PostgreSQL instance beside the service's, keeps a copy of that instance's whole memory to reset it between
 * initdb's steps, and never lets go of either: the first start peaked at ~800 MiB and the process kept ~700 MiB
 * until it was restarted. Without a template (the sources run directly, as in the tests) PGlite's initdb still
 * creates the database, at that cost. A directory rather than PGlite's tarball (`loadDataDir`): unpacking one
 * holds the whole database in memory two or three times over.
 */

/** Beside the compiled code: dist/pglite-template/ in a build, the checkout's root when run from the sources. */
const TEMPLATES = fileURLToPath(new URL('../../pglite-template/', import.meta.url))
/** PostgreSQL's mark of a database directory, which PGlite looks for: copied last, so a copy cut short is no database. */
const MARK = 'PG_VERSION'

/** PGlite's version names the template: a database made by another PostgreSQL build may not open. */
function pgliteVersion (): string {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'))
  const manifest = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }
  return manifest.version
}

export function templateDir (): string {
  return path.join(TEMPLATES, `pglite-${pgliteVersion()}`)
}

export function holdsDatabase (dir: string): boolean {
  return existsSync(path.join(dir, MARK))
}

/** Copies the template into `dataDir` if there is one; false if there is none. */
export async function copyTemplate (template: string, dataDir: string): Promise<boolean> {
  if (!holdsDatabase(template)) return false
  await cp(template, dataDir, { recursive: true, filter: (source) => path.relative(template, source) !== MARK })
  await copyFile(path.join(template, MARK), path.join(dataDir, MARK))
  return true
}

/** Makes the template with PGlite's initdb; it appears whole or not at all. */
export async function writeTemplate (dir: string): Promise<void> {
  const partial = `${dir}.${process.pid}.partial`
  await mkdir(path.dirname(dir), { recursive: true })
  const pglite = new PGlite({ dataDir: partial })
  try {
    await pglite.waitReady
  } finally {
    await pglite.close()
  }
  // Readable by all: the image is built as root and the service runs as another user, who must copy every
  // file (PostgreSQL made one or two owner-only).
  for (const name of await readdir(partial, { recursive: true })) {
    const file = path.join(partial, name)
    await chmod(file, (await stat(file)).mode | 0o444)
  }
  // Another build may have made it meanwhile: then that one stays.
  await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
    await rm(partial, { recursive: true, force: true })
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
  })
}

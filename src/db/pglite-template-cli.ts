import { readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { holdsDatabase, templateDir, writeTemplate } from './pglite-template.js'

// Part of `npm run build`: the embedded database's template for this PGlite version, made once. Making it runs
// PGlite's initdb here, in the build, rather than in the service at its first start. Templates of other PGlite
// versions (an upgrade) are no use to this build and go.
const dir = templateDir()
if (!holdsDatabase(dir)) {
  await writeTemplate(dir)
  process.stdout.write(`embedded database template: ${dir}\n`)
}
for (const name of await readdir(path.dirname(dir))) {
  if (name !== path.basename(dir) && !name.endsWith('.partial')) await rm(path.join(path.dirname(dir), name), { recursive: true, force: true })
}

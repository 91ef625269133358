import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** The file that says which process has the embedded database open. */
export const LOCK_FILE = 's2s-tracker.lock'

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
  readonly code = 'DATA_DIR_LOCKED'
}

interface Holder {
  pid: number
  /** When the process started (clock ticks since boot, from /proc), so a reused pid is not taken for the holder. */
  started: string | null
}

function processStart (pid: number): string | null {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the command name (which may hold spaces and parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

function isAlive (holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // Alive, but the pid may have been given to another process since the holder died.
  return holder.started === null || processStart(holder.pid) === null || processStart(holder.pid) === holder.started
}

function readHolder (file: string): { text: string; holder: Holder | null } | null {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>
    return typeof parsed.pid === 'number' ? { text, holder: { pid: parsed.pid, started: parsed.started ?? null } } : { text, holder: null }
  } catch {
    // Written half by a process killed mid-write: nobody holds it.
    return { text, holder: null }
  }
}

/**
 * Takes the embedded database's directory for this process, or throws naming the directory and the
 * holder. Two processes on one PGlite directory each see only their own writes and overwrite each other's
 * files, so acknowledged data would be lost. A lock left by a process that is gone (killed, crashed) is taken
 * over: it is moved aside under a unique name, and only the process that moved exactly what it judged stale
 * goes on, so two processes starting at once cannot both take it. Returns the release.
 */
export function lockDataDir (dir: string): () => void {
  const file = path.join(dir, LOCK_FILE)
  const mine = JSON.stringify({ pid: process.pid, started: processStart(process.pid) } satisfies Holder)
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 })
      return () => {
        if (readHolder(file)?.text === mine) unlinkSync(file)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const found = readHolder(file)
    if (found === null) continue
    if (found.holder !== null && isAlive(found.holder)) {
      const self = found.holder.pid === process.pid ? ' (this process: it is already open here)' : ''
      throw new DataDirLockedError(
        `DATA_DIR ${path.resolve(dir)} is in use by process ${found.holder.pid}${self}: one service process per embedded ` +
        'database (stop that process, choose another DATA_DIR, or use PostgreSQL with DATABASE_URL to run several)')
    }
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      renameSync(file, aside)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    if (readFileSync(aside, 'utf8') !== found.text) {
      // Another process took over first and this moved its fresh lock: put it back (only if the place is free).
      try {
        linkSync(aside, file)
      } catch {}
    }
    unlinkSync(aside)
  }
  throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)}: its lock keeps changing hands; is another process starting on it?`)
}

import { randomBytes } from 'node:crypto'
import { linkSync, readdirSync, readFileSync, readlinkSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** The name of the files that say which process has the embedded database open (see lockDataDir). */
export const LOCK_FILE = 's2s-tracker.lock'

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
  readonly code = 'DATA_DIR_LOCKED'
}

export interface LockTiming {
  /** How often the holder refreshes its lock file's time. */
  heartbeatMs: number
  /** How long a lock from elsewhere must stay unrefreshed before it is taken over. */
  staleMs: number
}

const DEFAULT_TIMING: LockTiming = { heartbeatMs: 1000, staleMs: 10_000 }

interface Holder {
  pid: number
  /** When the process started (clock ticks since boot, from /proc), so a reused pid is not taken for the holder. */
  started: string | null
  /** Where its pid means something (see pidPlace); null when unknown. */
  place: string | null
  /** Written by a holder as it let go: nobody holds the directory. */
  released?: boolean
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

/**
 * The process table a pid belongs to: this boot of the kernel and this pid namespace. Each container has its
 * own, where the service is often pid 1, so a pid written by another container (or host) on a shared volume
 * cannot be looked up here.
 */
function pidPlace (): string | null {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`
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
    return typeof parsed.pid === 'number'
      ? { text, holder: { pid: parsed.pid, started: parsed.started ?? null, place: parsed.place ?? null, released: parsed.released === true } }
      : { text, holder: null }
  } catch {
    // Not a lock this version writes (each is linked into place whole): a bare lock of an earlier version
    // that its process left half-written. Nobody holds it.
    return { text, holder: null }
  }
}

function modifiedAt (file: string): number | null {
  try {
    return statSync(file).mtimeMs
  } catch {
    return null
  }
}

/**
 * A holder elsewhere refreshes its lock every heartbeat: watches the file for `staleMs` by this process's own
 * clock (clocks elsewhere may differ). 'held' when it was refreshed, 'stale' when it never was, 'changed' when
 * it went away or another lock replaced it.
 */
async function watchHeartbeat (file: string, text: string, timing: LockTiming): Promise<'held' | 'stale' | 'changed'> {
  const first = modifiedAt(file)
  const deadline = Date.now() + timing.staleMs
  while (Date.now() < deadline) {
    await delay(Math.min(timing.heartbeatMs, 250))
    if (readHolder(file)?.text !== text) return 'changed'
    if (modifiedAt(file) !== first) return 'held'
  }
  return 'stale'
}

/**
 * Takes the embedded database's directory for this process, or throws naming the directory and the
 * holder. Two processes on one PGlite directory each see only their own writes and overwrite each other's
 * files, so acknowledged data would be lost.
 *
 * The lock is a chain of generations, `s2s-tracker.lock.<n>`: the newest one present says who holds the
 * directory, and n only grows. A process takes the directory by creating generation n+1 after judging
 * generation n released or stale (its process gone: at once when its pid can be looked up here, after
 * `staleMs` without a heartbeat when it was written elsewhere). Each generation is written whole under a
 * unique name and linked into place, which fails when it exists, so exactly one process creates each, and a
 * lock is never read half-written. Nothing that is the newest generation is ever removed by another process
 * (a stale holder is passed by, not deleted), so two processes taking over at once cannot both win, however
 * their steps interleave: the winner checks, after creating its generation, that no newer one exists.
 * Returns the release.
 */
export async function lockDataDir (dir: string, timing: LockTiming = DEFAULT_TIMING): Promise<() => void> {
  const here = pidPlace()
  const mine = JSON.stringify({ pid: process.pid, started: processStart(process.pid), place: here } satisfies Holder)
  for (let attempt = 0; attempt < 10; attempt++) {
    const newest = newestGeneration(dir)
    if (newest !== null) {
      const found = readHolder(newest.file)
      if (found === null) continue
      const holder = found.holder
      if (holder !== null && holder.released !== true) {
        const elsewhere = holder.place !== null && here !== null && holder.place !== here
        if (!elsewhere && isAlive(holder)) {
          const self = holder.pid === process.pid ? ' (this process: it is already open here)' : ''
          throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid}${self}: ${ONE_PROCESS}`)
        }
        if (elsewhere) {
          const verdict = await watchHeartbeat(newest.file, found.text, timing)
          if (verdict === 'changed' || newestGeneration(dir)?.n !== newest.n) continue
          if (verdict === 'held') {
            throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid} in another container ` +
              `or on another host (its lock is being refreshed): ${ONE_PROCESS}`)
          }
        }
      }
    }
    const n = (newest?.n ?? 0) + 1
    const file = generationFile(dir, n)
    if (!createWhole(file, mine)) continue
    if (newestGeneration(dir)?.n !== n) {
      // A newer generation appeared while this one was being made: its maker judged this one as it found it.
      removeQuietly(file)
      continue
    }
    removeOlderGenerations(dir, n)
    return holdLock(dir, n, mine, timing)
  }
  throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)}: its lock keeps changing hands; is another process starting on it?`)
}

const ONE_PROCESS = 'one service process per embedded database (stop that process, choose another DATA_DIR, ' +
  'or use PostgreSQL with DATABASE_URL to run several)'

/** Refreshes the lock's time while it is held, so a process elsewhere can tell it is alive; returns the release. */
function holdLock (dir: string, n: number, mine: string, timing: LockTiming): () => void {
  const file = generationFile(dir, n)
  const heartbeat = setInterval(() => {
    try {
      utimesSync(file, new Date(), new Date())
    } catch {}
  }, timing.heartbeatMs)
  heartbeat.unref()
  return () => {
    clearInterval(heartbeat)
    // The next generation says "released", so whoever comes next takes the directory at once; this one goes.
    const released = JSON.stringify({ ...JSON.parse(mine) as Holder, released: true } satisfies Holder)
    if (createWhole(generationFile(dir, n + 1), released)) removeQuietly(file)
  }
}

function generationFile (dir: string, n: number): string {
  return path.join(dir, `${LOCK_FILE}.${n}`)
}

const GENERATION = new RegExp(`^${LOCK_FILE.replaceAll('.', '\\.')}(?:\\.(\\d+))?$`)

/** The newest lock generation present; a bare `s2s-tracker.lock` (written by earlier versions) is generation 0. */
function newestGeneration (dir: string): { n: number; file: string } | null {
  let newest: { n: number; file: string } | null = null
  for (const name of readdirSync(dir)) {
    const match = GENERATION.exec(name)
    if (match === null) continue
    const n = match[1] === undefined ? 0 : Number(match[1])
    if (newest === null || n > newest.n) newest = { n, file: path.join(dir, name) }
  }
  return newest
}

function removeOlderGenerations (dir: string, n: number): void {
  for (const name of readdirSync(dir)) {
    const match = GENERATION.exec(name)
    if (match !== null && (match[1] === undefined ? 0 : Number(match[1])) < n) removeQuietly(path.join(dir, name))
  }
}

/** Creates `file` with all of `text`, or returns false when it exists: written under a unique name, then linked. */
function createWhole (file: string, text: string): boolean {
  const draft = `${file}.draft-${process.pid}-${randomBytes(4).toString('hex')}`
  writeFileSync(draft, text, { flag: 'wx', mode: 0o600 })
  try {
    linkSync(draft, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    removeQuietly(draft)
  }
}

function removeQuietly (file: string): void {
  try {
    unlinkSync(file)
  } catch {}
}

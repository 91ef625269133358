import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** The file that says which process has the embedded database open. */
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
      ? { text, holder: { pid: parsed.pid, started: parsed.started ?? null, place: parsed.place ?? null } }
      : { text, holder: null }
  } catch {
    // Written half by a process killed mid-write: nobody holds it.
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
 * files, so acknowledged data would be lost. A lock left by a process that is gone (killed, crashed) is taken
 * over: at once when its pid can be looked up here, after `staleMs` without a heartbeat when it was written
 * elsewhere. It is moved aside under a unique name, and only the process that moved exactly what it judged
 * stale goes on, so two processes starting at once cannot both take it. Returns the release.
 */
export async function lockDataDir (dir: string, timing: LockTiming = DEFAULT_TIMING): Promise<() => void> {
  const file = path.join(dir, LOCK_FILE)
  const here = pidPlace()
  const mine = JSON.stringify({ pid: process.pid, started: processStart(process.pid), place: here } satisfies Holder)
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 })
      return holdLock(file, mine, timing)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const found = readHolder(file)
    if (found === null) continue
    const holder = found.holder
    if (holder !== null) {
      const elsewhere = holder.place !== null && here !== null && holder.place !== here
      if (!elsewhere && isAlive(holder)) {
        const self = holder.pid === process.pid ? ' (this process: it is already open here)' : ''
        throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid}${self}: ${ONE_PROCESS}`)
      }
      if (elsewhere) {
        const verdict = await watchHeartbeat(file, found.text, timing)
        if (verdict === 'changed') continue
        if (verdict === 'held') {
          throw new DataDirLockedError(`DATA_DIR ${path.resolve(dir)} is in use by process ${holder.pid} in another container ` +
            `or on another host (its lock is being refreshed): ${ONE_PROCESS}`)
        }
      }
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

const ONE_PROCESS = 'one service process per embedded database (stop that process, choose another DATA_DIR, ' +
  'or use PostgreSQL with DATABASE_URL to run several)'

/** Refreshes the lock's time while it is held, so a process elsewhere can tell it is alive; returns the release. */
function holdLock (file: string, mine: string, timing: LockTiming): () => void {
  const heartbeat = setInterval(() => {
    try {
      if (readHolder(file)?.text === mine) utimesSync(file, new Date(), new Date())
    } catch {}
  }, timing.heartbeatMs)
  heartbeat.unref()
  return () => {
    clearInterval(heartbeat)
    if (readHolder(file)?.text === mine) unlinkSync(file)
  }
}

import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'

/**
 * Who holds a delivery's lease: `host:pid:start:nonce`, where `start` is the process's start time
 * (base 36 ms). Several apps in one process (tests) differ by nonce; a later process that reuses a
 * pid (a container's pid 1 after a restart) differs by start. A manual resend adds `/resend/...`.
 */
const HOST = hostname()
const PROCESS_START = Math.round(performance.timeOrigin).toString(36)

export function newHolderId (): string {
  return `${HOST}:${process.pid}:${PROCESS_START}:${randomUUID().slice(0, 8)}`
}

/** The prefix every holder of this host starts with. */
export const HOST_PREFIX = `${HOST}:`

/**
 * Whether a holder of this host belongs to a process that is gone, so its leases can be given back
 * without waiting for them to expire. Unknown shapes, other hosts and live processes are never gone.
 */
export function isGoneLocalHolder (holder: string, isAlive: (pid: number) => boolean = processIsAlive): boolean {
  if (!holder.startsWith(HOST_PREFIX)) return false
  const [pidText, start] = holder.slice(HOST_PREFIX.length).split(/[:/]/)
  const pid = Number(pidText)
  if (!Number.isSafeInteger(pid) || pid <= 0 || start === undefined || start === '') return false
  if (pid === process.pid) return start !== PROCESS_START
  return !isAlive(pid)
}

function processIsAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

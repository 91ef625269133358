import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'

/** A worker that dies is replaced after this pause, doubled for each death in the last minute, up to the cap. */
const RESTART_PAUSE_MS = 1_000
const RESTART_PAUSE_CAP_MS = 30_000
/** Workers get this long to finish after SIGTERM (the service's own grace is 30 s), then are killed. */
const STOP_GRACE_MS = 40_000
/** Failed starts in a row, with no worker ever listening, after which the configuration is taken to be wrong. */
const FAILED_STARTS_BEFORE_GIVING_UP = 3

/**
 * WORKERS > 1 (§8): this process forks `count` copies of the service, which share the listening port
 * (node:cluster hands out connections), each a full instance as the multi-instance rules allow. A worker
 * that dies is replaced; SIGTERM or SIGINT stops them all together and waits. When workers keep failing
 * to start and none ever listened (a database that does not exist, a port taken), the supervisor exits 1
 * instead of restarting for ever. Resolves with the exit code.
 */
export function superviseWorkers (count: number, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    let everListened = false
    let failedStarts = 0
    const deaths: number[] = []
    const listening = new WeakSet<Worker>()

    const fork = () => {
      const worker = cluster.fork()
      worker.once('listening', () => {
        listening.add(worker)
        everListened = true
        failedStarts = 0
      })
    }

    cluster.on('exit', (worker, code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0)
        return
      }
      if (!listening.has(worker) && !everListened && ++failedStarts >= FAILED_STARTS_BEFORE_GIVING_UP) {
        log.fatal({ code, signal }, `workers failed to start ${failedStarts} times in a row; stopping (see their log lines above)`)
        stopping = true
        for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM')
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(1)
        else cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) resolve(1) })
        return
      }
      const now = Date.now()
      deaths.push(now)
      while ((deaths[0] ?? now) < now - 60_000) deaths.shift()
      const pause = Math.min(RESTART_PAUSE_CAP_MS, RESTART_PAUSE_MS * 2 ** (deaths.length - 1))
      log.error({ pid: worker.process.pid, code, signal, restartInMs: pause }, 'a worker died; starting another')
      setTimeout(() => { if (!stopping) fork() }, pause).unref()
    })

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return
      stopping = true
      log.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping the workers')
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
      setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
      }, STOP_GRACE_MS).unref()
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0)
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)

    log.info({ workers: count }, `starting ${count} worker processes sharing the port`)
    for (let i = 0; i < count; i++) fork()
  })
}

import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import pino from 'pino'

// How the service logs: one line per request, secrets out of URLs, standard output written in batches.

/** Pino's options: the level, secrets redacted (an API key in a header, `secure` in a URL), and where lines go. */
export function loggerOptions (level: string, stream: { write(line: string): void }) {
  return {
    level,
    redact: { paths: ['req.headers["api-key"]', 'headers["api-key"]', 'api_key', '*.api_key'], censor: '[REDACTED]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
    },
    stream,
  }
}

/** One log line per request, written when it completes, with the `secure` parameter redacted. */
export class OneLinePerRequest extends LogController {
  override incomingRequest () {}
  override requestCompleted (error: Error | null, request: FastifyRequest, reply: FastifyReply) {
    const line = { method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request')
  }
}

/**
 * Standard output, written asynchronously: a line logged while a write is under way joins the next write,
 * so a busy service pays one write per batch of lines instead of a system call per request (about as much
 * CPU as the rest of a click on a small machine). Idle, each line still goes out at once. Pino flushes what
 * is left when the process exits; what exceeds 16 MiB while stdout is blocked is dropped, not held.
 */
export function standardOutput () {
  const destination = pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024 })
  let lastDropNotice = 0
  destination.on('drop', () => {
    if (Date.now() - lastDropNotice < 60_000) return
    lastDropNotice = Date.now()
    process.stderr.write('log lines are being dropped: standard output is not keeping up (over 16 MiB waiting)\n')
  })
  return destination
}

/** Query parameters whose values never reach a log line, whatever the case or percent-encoding of their names. */
const SECRET_PARAMETERS = new Set(['secure', 'api_key', 'api-key', 'apikey'])
/** A name that could be one of them: it has a `%`, or starts like one. Values are not looked at (a click's often hold `%`). */
const MAYBE_SECRET_NAME = /[?&](?:[^=&]*%|secure|api)/i

function decodedName (raw: string): string {
  if (!raw.includes('%')) return raw.toLowerCase()
  try {
    return decodeURIComponent(raw).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/** Strips secrets from the URLs we log: `secure` on /postback, an API key sent in the query by mistake. */
export function redactUrl (url: string): string {
  if (!MAYBE_SECRET_NAME.test(url)) return url
  const q = url.indexOf('?')
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    return SECRET_PARAMETERS.has(decodedName(name)) ? `${name}=[REDACTED]` : pair
  })
  return `${url.slice(0, q + 1)}${pairs.join('&')}`
}

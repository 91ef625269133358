import net from 'node:net'

// A raw HTTP/1.1 client: sends the request target byte for byte (no client-side encoding or validation),
// so tests can put `%FF`, repeated parameters or latin-1 bytes on the wire as a hostile client would.

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export function rawRequest (
  port: number, method: string, target: Buffer | string, options: { headers?: Record<string, string>; body?: string } = {}
): Promise<RawResponse> {
  const head = Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    typeof target === 'string' ? Buffer.from(target, 'latin1') : target,
    Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n', 'latin1'),
    Buffer.from(Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join(''), 'utf8'),
    options.body === undefined ? Buffer.alloc(0) : Buffer.from(`content-length: ${Buffer.byteLength(options.body)}\r\n`),
    Buffer.from('\r\n'),
    options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body, 'utf8'),
  ])
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head))
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer within 15 s')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const raw = Buffer.concat(chunks)
      const split = raw.indexOf('\r\n\r\n')
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`))
      const [statusLine, ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      let body: Buffer = raw.subarray(split + 4)
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body)
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: body.toString('utf8') })
    })
  })
}

function dechunk (data: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset)
    if (lineEnd === -1) break
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

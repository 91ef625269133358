import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError } from '../src/config.js'
import { checkDotEnv, withDotEnv } from '../src/dotenv.js'

t.test('.env lines: what is refused names its line', async (t) => {
  const cases: Array<[string, RegExp | null]> = [
    ['PORT=3000\n\n# a comment\n  # indented comment\nexport HOST=127.0.0.1\n', null],
    ['A="one\ntwo"\nB=3\n', null],
    ["A='x'\nB=`y`\nC=\n", null],
    ['PORT 3000\n', /line 1: expected NAME=value/],
    ['A=1\nB=2\nthis is not it\n', /line 3: expected NAME=value/],
    ['1PORT=3\n', /line 1/],
    ['A="never closed\nB=2\n', /line 1: the quote " is never closed/],
  ]
  for (const [text, error] of cases) {
    if (error === null) t.doesNotThrow(() => checkDotEnv(text, '.env'), JSON.stringify(text))
    else t.throws(() => checkDotEnv(text, '.env'), { name: 'ConfigError', message: error }, JSON.stringify(text))
  }
})

t.test('.env fills what the environment leaves unset', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 's2s-dotenv-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, '.env')
  t.same(withDotEnv({ PORT: '1' }, file), { PORT: '1' }, 'no file: the environment as it is')
  await writeFile(file, 'PORT=4000\nLOG_LEVEL=debug\nPUBLIC_URL="https://t.example"\n')
  t.same(withDotEnv({ PORT: '5000' }, file), { PORT: '5000', LOG_LEVEL: 'debug', PUBLIC_URL: 'https://t.example' }, 'set variables win')
  await writeFile(file, 'PORT=4000\nLOG_LEVEL\n')
  t.throws(() => withDotEnv({}, file), new ConfigError(`${file} line 2: expected NAME=value, found "LOG_LEVEL"`))
})

import t from 'tap'
import { environmentReader, parseTegrastats, parseThrottled } from './environment.ts'
import type { HardwareProfile } from './profiles.ts'

t.test('vcgencmd and tegrastats output', async (t) => {
  t.equal(parseThrottled('throttled=0x0\n'), false)
  t.equal(parseThrottled('throttled=0x50005\n'), true)
  t.equal(parseThrottled('throttled=0x50000\n'), false, 'only past events, not now')
  t.equal(parseThrottled('garbage'), undefined)
  t.same(parseTegrastats('RAM 1843/3956MB CPU [12%@1479,3%@1479,off,off] EMC_FREQ 0% GR3D_FREQ 0% PLL@31C CPU@33.5C GPU@31C'), { frequencyMHz: 1479, temperatureC: 33.5 })
})

t.test('missing sensors are left out, never errors', async (t) => {
  const profile = {
    id: 'x', name: 'x', match: {}, measure: { threads: 1, warmupRuns: 1, warmupMs: 1 },
    sensors: { temperature: [{ file: '/nonexistent/temp', scale: 0.001 }], frequency: [], throttleCommand: ['/nonexistent/vcgencmd', 'get_throttled'] },
  } satisfies HardwareProfile
  const read = environmentReader(profile)
  t.same(await read(), {})
  t.same(await read(), {})
})

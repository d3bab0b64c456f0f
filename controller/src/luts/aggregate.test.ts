import t from 'tap'
import { aggregateDevices, median } from './aggregate.ts'

const row = (deviceId: string, medianMs: number, noisy = false) => ({ deviceId, medianMs, p10Ms: medianMs - 1, p90Ms: medianMs + 1, cv: 0.01, samples: 10, noisy })

t.test('median', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.throws(() => median([]))
})

t.test('a LUT row is the median of device medians', async (t) => {
  t.same(aggregateDevices([row('a', 10), row('b', 14)]), {
    medianMs: 12,
    p10Ms: 11,
    p90Ms: 13,
    cv: 0.01,
    samples: 20,
    devices: 2,
    spreadMs: 4,
    noisy: false,
    ciLowMs: null,
    ciHighMs: null,
    overheadMs: null,
    belowOverhead: false,
  })
  const three = aggregateDevices([row('a', 10), row('b', 11), row('c', 100, true)])
  t.equal(three.medianMs, 11, 'one odd device does not move the row')
  t.equal(three.spreadMs, 90)
  t.equal(three.noisy, false, 'noisy only when most devices are')
})

t.test('interval and overhead are medians across devices, absent when a device lacks them', async (t) => {
  const a = { ...row('a', 10), ciLowMs: 9.5, ciHighMs: 10.4, overheadMs: 0.005 }
  const b = { ...row('b', 12), ciLowMs: 11.7, ciHighMs: 12.6, overheadMs: 0.007 }
  const both = aggregateDevices([a, b])
  t.equal(both.ciLowMs, 10.6)
  t.equal(both.ciHighMs, 11.5)
  t.equal(both.overheadMs, 0.006)
  const old = aggregateDevices([a, row('c', 11)])
  t.equal(old.ciLowMs, null, 'an old agent without intervals leaves the row without one')
})

t.test('a row at or below the call overhead is flagged, whatever the agent said', async (t) => {
  t.equal(aggregateDevices([row('a', 0)]).belowOverhead, true, 'a clamped 0 ms median')
  t.equal(aggregateDevices([{ ...row('a', 0.001), belowOverhead: true }]).belowOverhead, true, 'the agent flagged it')
  t.equal(aggregateDevices([row('a', 0.001)]).belowOverhead, false)
})

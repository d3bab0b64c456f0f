import t from 'tap'
import { aggregateDevices, median } from './aggregate.ts'

const row = (deviceId: string, medianMs: number, noisy = false) => ({ deviceId, medianMs, p10Ms: medianMs - 1, p90Ms: medianMs + 1, cv: 0.01, samples: 10, noisy })

t.test('median', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.throws(() => median([]))
})

t.test('a LUT row is the median of device medians', async (t) => {
  t.same(aggregateDevices([row('a', 10), row('b', 14)]), { medianMs: 12, p10Ms: 11, p90Ms: 13, cv: 0.01, samples: 20, devices: 2, spreadMs: 4, noisy: false })
  const three = aggregateDevices([row('a', 10), row('b', 11), row('c', 100, true)])
  t.equal(three.medianMs, 11, 'one odd device does not move the row')
  t.equal(three.spreadMs, 90)
  t.equal(three.noisy, false, 'noisy only when most devices are')
})

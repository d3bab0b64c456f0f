import t from 'tap'
import { atMost, pct, renderTargets } from './targets.ts'

t.test('a figure passes at or below its limit and fails above it or when unmeasured', async (t) => {
  t.equal(atMost('cv', 0.03, 0.03, pct).pass, true)
  t.equal(atMost('cv', 0.031, 0.03, pct).pass, false)
  const missing = atMost('repeat', NaN, 0.03, pct)
  t.equal(missing.pass, false)
  t.equal(missing.shown, 'n/a')
})

t.test('renders one aligned line per figure with PASS or MISS', async (t) => {
  const out = renderTargets([atMost('median cv', 0.02, 0.03, pct), atMost('share', 0.1, 0.05, pct, 'noisy')]).split('\n')
  t.equal(out.length, 2)
  t.match(out[0], /median cv\s+2\.00%\s+target <= 3\.00%\s+PASS/)
  t.match(out[1], /share\s+10\.00%\s+target <= 5\.00%\s+MISS\s+\(noisy\)/)
})

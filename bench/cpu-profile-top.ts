/**
 * Summarises a V8 .cpuprofile (node --cpu-prof, e.g. `npm run bench:fleet -- --cpu-prof DIR`):
 * self time by function and total (inclusive) time by function, largest first.
 *
 *   npx tsx bench/cpu-profile-top.ts tmp/prof/controller-embedded-1000-123.cpuprofile [--top 30] [--match src/]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const args = process.argv.slice(2)
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a))
if (!file) {
  console.error('usage: tsx bench/cpu-profile-top.ts FILE.cpuprofile [--top N] [--match TEXT]')
  process.exit(2)
}
const top = Number(args[args.indexOf('--top') + 1]) || 30
const match = args.includes('--match') ? args[args.indexOf('--match') + 1] : undefined

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const name = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm/').replace(/.*\/(controller|shared|agent)\/src\//, '$1/')
  return `${n.callFrame.functionName || '(anonymous)'} ${url}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`
}

const self = new Map<string, number>()
const total = new Map<string, number>()
let all = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  all += dt
  const node = byId.get(id)!
  self.set(name(node), (self.get(name(node)) ?? 0) + dt)
  // Inclusive: every distinct function on the stack once.
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = name(byId.get(cur)!)
    if (seen.has(k)) continue
    seen.add(k)
    total.set(k, (total.get(k) ?? 0) + dt)
  }
})

const print = (title: string, m: Map<string, number>) => {
  console.log(`${title} (of ${(all / 1e6).toFixed(1)} s sampled)`)
  const rows = [...m].filter(([k]) => !match || k.includes(match)).sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [k, us] of rows) console.log(`  ${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${k}`)
}
print('self time', self)
print('total time', total)

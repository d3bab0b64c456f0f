/**
 * Seeded pseudo-random generator (sfc32 seeded through splitmix32). Every sampler, search and
 * shuffle takes one of these explicitly so runs are reproducible.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Integer in [0, n). */
  int(n: number): number
  pick<T>(items: readonly T[]): T
  shuffle<T>(items: T[]): T[]
  /** Standard normal (Box-Muller). */
  normal(): number
  /** An independent generator derived from this one. */
  fork(): Rng
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export function createRng(seed: number | string = 1): Rng {
  const numeric = typeof seed === 'number' ? seed : hashString(seed)
  const init = splitmix32(numeric)
  let a = init(), b = init(), c = init(), d = init()
  const nextU32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t
  }
  for (let i = 0; i < 12; i++) nextU32()
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int: (n) => Math.floor((nextU32() / 4294967296) * n),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[rng.int(items.length)]
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        ;[items[i], items[j]] = [items[j], items[i]]
      }
      return items
    },
    normal: () => {
      const u = 1 - rng.next()
      const v = rng.next()
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    },
    fork: () => createRng(nextU32()),
  }
  return rng
}

export function hashString(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

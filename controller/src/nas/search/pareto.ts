/** Accuracy-latency Pareto front: higher accuracy and lower latency are both better. */

export interface FrontPoint {
  id: string
  accuracy: number
  latencyMs: number
}

/**
 * The points no other point beats on both axes (ties broken by id, so a front is stable), in
 * increasing latency (and so increasing accuracy).
 */
export function paretoFront<T extends FrontPoint>(points: Iterable<T>): T[] {
  const sorted = [...points].sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const front: T[] = []
  for (const p of sorted) if (front.length === 0 || p.accuracy > front[front.length - 1].accuracy) front.push(p)
  return front
}

/** Orders candidates best first: accuracy, then latency, then id. */
export function byAccuracy(a: FrontPoint, b: FrontPoint): number {
  return b.accuracy - a.accuracy || a.latencyMs - b.latencyMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

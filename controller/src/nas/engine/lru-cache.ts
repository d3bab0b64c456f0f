/**
 * A bounded least-recently-used map. Evicted values are handed to `onEvict` (the engine releases
 * ONNX Runtime sessions there, which hold native memory).
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>()

  constructor(
    readonly capacity: number,
    private readonly onEvict: (value: V, key: K) => void = () => {},
  ) {
    if (!(capacity >= 1)) throw new Error(`LRU capacity must be >= 1, got ${capacity}`)
  }

  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.capacity) {
      const [oldKey, oldValue] = this.map.entries().next().value as [K, V]
      this.map.delete(oldKey)
      this.onEvict(oldValue, oldKey)
    }
  }

  get size(): number {
    return this.map.size
  }

  keys(): K[] {
    return [...this.map.keys()]
  }

  clear(): void {
    for (const [k, v] of this.map) this.onEvict(v, k)
    this.map.clear()
  }
}

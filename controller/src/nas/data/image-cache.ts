/**
 * Least-recently-used cache of images bounded by bytes, for datasets whose images are costly to
 * make (rendered glyphs). Map keeps insertion order, so re-inserting on a hit is the LRU update.
 */
export class ImageCache {
  private readonly entries = new Map<number, Float32Array>()
  private bytes = 0
  hits = 0
  misses = 0

  constructor(readonly maxBytes: number) {}

  getOrMake(key: number, make: () => Float32Array): Float32Array {
    const found = this.entries.get(key)
    if (found) {
      this.hits++
      this.entries.delete(key)
      this.entries.set(key, found)
      return found
    }
    this.misses++
    const made = make()
    if (made.byteLength > this.maxBytes) return made
    this.entries.set(key, made)
    this.bytes += made.byteLength
    while (this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as number
      this.bytes -= this.entries.get(oldest)!.byteLength
      this.entries.delete(oldest)
    }
    return made
  }

  get size(): number {
    return this.entries.size
  }
}

/**
 * Per-device flood limit: a token bucket per device id (from the topic), `ratePerS` messages a
 * second with bursts of `burst`, checked before a message is even parsed, so a flood costs one map
 * lookup per message. Over the limit a message is dropped: a results batch is not acked and its
 * agent resends it later from its outbox, so throttling delays a flooding device's results and
 * loses none. Counts (per process) go to /metrics.
 *
 * A real agent sends a few messages per job and per results batch; the default leaves it far
 * below the limit, including the burst of retained status and info the broker replays at connect.
 */
export interface DeviceLimitOptions {
  ratePerS: number
  burst: number
  now?: () => number
}

export interface ThrottleFigures {
  /** Messages dropped over the limit, by topic kind. */
  messages: Map<string, number>
  /** Distinct devices throttled at least once since start. */
  devices: number
}

interface Bucket {
  tokens: number
  at: number
}

export class DeviceLimits {
  private readonly buckets = new Map<string, Bucket>()
  private readonly dropped = new Map<string, number>()
  private readonly throttledDevices = new Set<string>()
  private readonly now: () => number

  constructor(private readonly o: DeviceLimitOptions) {
    this.now = o.now ?? (() => performance.now())
  }

  /** Takes one token for the device; false (and counted) when it has none left. */
  allow(deviceId: string, topicKind: string): boolean {
    const now = this.now()
    let b = this.buckets.get(deviceId)
    if (!b) this.buckets.set(deviceId, (b = { tokens: this.o.burst, at: now }))
    else {
      b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.ratePerS)
      b.at = now
    }
    if (b.tokens >= 1) {
      b.tokens -= 1
      return true
    }
    this.dropped.set(topicKind, (this.dropped.get(topicKind) ?? 0) + 1)
    this.throttledDevices.add(deviceId)
    return false
  }

  figures(): ThrottleFigures {
    return { messages: new Map(this.dropped), devices: this.throttledDevices.size }
  }
}

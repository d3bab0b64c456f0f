/**
 * Prometheus text exposition for /metrics. Fleet figures are read from the store at scrape time
 * (they survive restarts); HTTP request counts are per process.
 */
import type { Store } from './store/db.ts'
import { CAMPAIGN_STATES } from './store/campaigns.ts'
import { REJECTED_COUNTER } from './mqtt/dispatcher.ts'
import { DUPLICATE_COUNTER, DUPLICATE_MEASUREMENT_COUNTER, type IngestStats } from './mqtt/ingest-queue.ts'
import type { ThrottleFigures } from './mqtt/device-limits.ts'

/** This process's ingest queue and flood limit (not in the store: per process, reset at start). */
export interface IngestFigures {
  queue: IngestStats
  throttled: ThrottleFigures
}

export const REFUSED_COUNTER = 'mqtt_refused'

export class HttpRequestCounter {
  private readonly counts = new Map<string, number>()
  record(method: string, route: string, statusCode: number): void {
    const key = JSON.stringify([method, route, String(statusCode)])
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }
  entries(): { method: string; route: string; status: string; value: number }[] {
    return [...this.counts].map(([k, value]) => {
      const [method, route, status] = JSON.parse(k) as string[]
      return { method, route, status, value }
    })
  }
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labels = (l: Record<string, string>) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: { labels?: Record<string, string>; value: number }[]) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  for (const s of samples) out.push(`${name}${labels(s.labels ?? {})} ${s.value}`)
}

export function renderMetrics(store: Store, http: HttpRequestCounter, mqttConnected: boolean, ingest?: IngestFigures): string {
  const out: string[] = []
  family(out, 'fleetnas_devices_online', 'gauge', 'Devices whose last status is online.', [{ value: store.devices.countOnline() }])
  family(out, 'fleetnas_devices_known', 'gauge', 'Devices the controller knows.', [{ value: store.devices.count() }])
  family(out, 'fleetnas_measurements_stored', 'gauge', 'Measurements stored.', [{ value: store.measurements.count() }])
  family(out, 'fleetnas_result_batches_stored', 'gauge', 'Result batches stored (unique jobId, seq).', [{ value: store.measurements.countBatches() }])
  family(out, 'fleetnas_result_batches_duplicate_total', 'counter', 'Result batches received again (re-acked, not stored).', [
    { value: store.counters.total(DUPLICATE_COUNTER) },
  ])
  family(
    out,
    'fleetnas_measurements_duplicate_total',
    'counter',
    'Block and architecture measurements for a target their execution already had (late results of a retried attempt): acked, not stored.',
    [{ value: store.counters.total(DUPLICATE_MEASUREMENT_COUNTER) }],
  )
  family(
    out,
    'fleetnas_mqtt_rejected_messages_total',
    'counter',
    'Inbound MQTT messages dropped, by topic kind and reason.',
    store.counters.read(REJECTED_COUNTER).map((c) => ({ labels: c.labels, value: c.value })),
  )
  family(
    out,
    'fleetnas_mqtt_refused_total',
    'counter',
    'Connects, publishes and subscriptions the embedded broker refused (auth/ACL).',
    store.counters.read(REFUSED_COUNTER).map((c) => ({ labels: c.labels, value: c.value })),
  )
  const byState = new Map(store.campaigns.countByState().map((r) => [r.state, r.n]))
  family(
    out,
    'fleetnas_campaigns',
    'gauge',
    'Campaigns by state.',
    CAMPAIGN_STATES.map((state) => ({ labels: { state }, value: byState.get(state) ?? 0 })),
  )
  if (ingest) {
    family(
      out,
      'fleetnas_mqtt_throttled_messages_total',
      'counter',
      'Inbound MQTT messages dropped by the per-device flood limit, by topic kind (this process; throttled results are not acked and are resent by their agent).',
      [...ingest.throttled.messages].map(([topic_kind, value]) => ({ labels: { topic_kind }, value })),
    )
    family(out, 'fleetnas_mqtt_throttled_devices', 'gauge', 'Devices that went over the per-device flood limit at least once (this process).', [
      { value: ingest.throttled.devices },
    ])
    const q = ingest.queue
    family(out, 'fleetnas_ingest_queued_batches', 'gauge', 'Result batches received and not yet stored (this process).', [{ value: q.queued }])
    family(out, 'fleetnas_ingest_queued_batches_peak', 'gauge', 'The most result batches queued at once since start (this process).', [{ value: q.peakQueued }])
    family(out, 'fleetnas_ingest_held_deliveries', 'gauge', 'MQTT deliveries not yet acknowledged to the broker because the ingest queue is full (backpressure).', [
      { value: q.heldAcks },
    ])
    family(out, 'fleetnas_ingest_batches_total', 'counter', 'Result batches through the ingest queue (this process), duplicates included.', [{ value: q.batches }])
    family(out, 'fleetnas_ingest_transactions_total', 'counter', 'Store transactions of the ingest queue (this process); batches per transaction = batches / transactions.', [
      { value: q.transactions },
    ])
    family(out, 'fleetnas_ingest_store_retries_total', 'counter', 'Times the store was busy (locked past busy_timeout) and queued batches were retried.', [
      { value: q.storeRetries },
    ])
  }
  const mem = process.memoryUsage()
  family(
    out,
    'fleetnas_process_memory_bytes',
    'gauge',
    'Memory of this controller process: rss (all of it), heap_total/heap_used (the JavaScript heap of the main thread), external (memory of C++ objects tied to JavaScript ones, array buffers and Buffers included), array_buffers (of external).',
    [
      { labels: { kind: 'rss' }, value: mem.rss },
      { labels: { kind: 'heap_total' }, value: mem.heapTotal },
      { labels: { kind: 'heap_used' }, value: mem.heapUsed },
      { labels: { kind: 'external' }, value: mem.external },
      { labels: { kind: 'array_buffers' }, value: mem.arrayBuffers },
    ],
  )
  family(out, 'fleetnas_mqtt_connected', 'gauge', '1 while the controller session is connected to the broker.', [{ value: mqttConnected ? 1 : 0 }])
  family(
    out,
    'fleetnas_http_requests_total',
    'counter',
    'HTTP requests by method, route and status.',
    http.entries().map((e) => ({ labels: { method: e.method, route: e.route, status: e.status }, value: e.value })),
  )
  return out.join('\n') + '\n'
}

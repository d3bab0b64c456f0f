/**
 * devices/{id}/results: a batch of measurements. In one transaction the batch (jobId, seq) is
 * recorded if new, with its measurements and the LUT rows they touch; then the batch is acked.
 * A duplicate batch is acked again and changes nothing. A block its execution already has (a late
 * result of a timed-out attempt, after the retry stored it, or the other way round) is acked with
 * its batch but not stored: the first result wins. Both kinds of duplicate are counted for /metrics.
 * A batch for another device or for a job that is not this device's is rejected (not acked).
 * Architectures measured whole get their LUT's latency model refitted soon after.
 */
import { encodeMessage, PROTOCOL_VERSION, topics } from '@fleetnas/shared'
import { refreshLutRows } from '../../luts/builder.ts'
import type { Handler } from '../dispatcher.ts'

export const DUPLICATE_COUNTER = 'mqtt_duplicate_batches'
export const DUPLICATE_MEASUREMENT_COUNTER = 'mqtt_duplicate_measurements'

export const handleResults: Handler<'results'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId)
    return { reason: 'device_mismatch', detail: `results of ${msg.deviceId} on ${topic.deviceId}'s topic` }
  const owner = ctx.store.campaigns.jobOwner(msg.jobId)
  if (!owner || owner.deviceId !== topic.deviceId) return { reason: 'unknown_job', detail: `job ${msg.jobId} is not ${topic.deviceId}'s` }

  const { store } = ctx
  const now = ctx.now()
  const execution = store.campaigns.execution(owner.executionId)!
  const hardwareProfile = store.devices.get(topic.deviceId)?.hardwareProfile ?? null
  const outcome = store.transaction(() => {
    const batch = { jobId: msg.jobId, seq: msg.seq, deviceId: topic.deviceId, executionId: execution.id, campaignId: execution.campaignId, hardwareProfile }
    const result = store.measurements.insertBatch(batch, msg.measurements, now)
    if (result.stored.length > 0) refreshLutRows(store.luts, hardwareProfile, result.stored, now)
    store.devices.touch(topic.deviceId, now)
    return result
  })
  if (!outcome.fresh) store.counters.increment(DUPLICATE_COUNTER)
  if (outcome.duplicates > 0) store.counters.increment(DUPLICATE_MEASUREMENT_COUNTER, {}, outcome.duplicates)

  const ack = encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: msg.jobId, seqs: [msg.seq] })
  ctx.publisher.publish(topics.acks(topic.deviceId), ack).catch((err) => ctx.log.warn({ err, jobId: msg.jobId, seq: msg.seq }, 'ack publish failed'))
  if (ctx.latency && hardwareProfile)
    for (const m of outcome.stored)
      if (m.kind === 'architecture') ctx.latency.scheduleRefit({ hardwareProfile, runtime: m.runtime, threads: m.threads, backend: m.backend })
  // Nothing stored (all duplicates) is no progress: it must not hold off the timeout of the current attempt.
  if (outcome.stored.length > 0) ctx.scheduler.onResultsStored(execution.id)
}

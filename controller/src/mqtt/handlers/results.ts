/**
 * devices/{id}/results: a batch of measurements. In one transaction the batch (jobId, seq) is
 * recorded if new, with its measurements and the LUT rows they touch; then the batch is acked.
 * A duplicate is acked again and changes nothing. A batch for another device or for a job that is
 * not this device's is rejected (not acked).
 */
import { encodeMessage, PROTOCOL_VERSION, topics } from '@fleetnas/shared'
import { refreshLutRows } from '../../luts/builder.ts'
import type { Handler } from '../dispatcher.ts'

export const DUPLICATE_COUNTER = 'mqtt_duplicate_batches'

export const handleResults: Handler<'results'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId)
    return { reason: 'device_mismatch', detail: `results of ${msg.deviceId} on ${topic.deviceId}'s topic` }
  const owner = ctx.store.campaigns.jobOwner(msg.jobId)
  if (!owner || owner.deviceId !== topic.deviceId) return { reason: 'unknown_job', detail: `job ${msg.jobId} is not ${topic.deviceId}'s` }

  const { store } = ctx
  const now = ctx.now()
  const execution = store.campaigns.execution(owner.executionId)!
  const fresh = store.transaction(() => {
    const device = store.devices.get(topic.deviceId)
    const hardwareProfile = device?.hardwareProfile ?? null
    const batch = { jobId: msg.jobId, seq: msg.seq, deviceId: topic.deviceId, executionId: execution.id, campaignId: execution.campaignId, hardwareProfile }
    const inserted = store.measurements.insertBatch(batch, msg.measurements, now)
    if (inserted) refreshLutRows(store.luts, hardwareProfile, msg.measurements, now)
    store.devices.touch(topic.deviceId, now)
    return inserted
  })
  if (!fresh) store.counters.increment(DUPLICATE_COUNTER)

  const ack = encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: msg.jobId, seqs: [msg.seq] })
  ctx.publisher.publish(topics.acks(topic.deviceId), ack).catch((err) => ctx.log.warn({ err, jobId: msg.jobId, seq: msg.seq }, 'ack publish failed'))
  if (fresh) ctx.scheduler.onResultsStored(execution.id)
}

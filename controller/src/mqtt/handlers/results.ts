/**
 * devices/{id}/results: a batch of measurements. Checked here (the device's own topic, a job of this
 * device) and queued for the store (../ingest-queue.ts), which stores it in a transaction shared with
 * the batches that arrived with it, marks the LUT rows it touched, and acks it after the commit.
 * A duplicate batch is acked again and changes nothing; a block its execution already has (a late
 * result of a timed-out attempt, after the retry stored it, or the other way round) is acked with
 * its batch but not stored: the first result wins. Both kinds of duplicate are counted for /metrics.
 * A batch for another device or for a job that is not this device's is rejected (not acked).
 */
import type { Handler } from '../dispatcher.ts'

export { DUPLICATE_COUNTER, DUPLICATE_MEASUREMENT_COUNTER } from '../ingest-queue.ts'

export const handleResults: Handler<'results'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId)
    return { reason: 'device_mismatch', detail: `results of ${msg.deviceId} on ${topic.deviceId}'s topic` }
  const owner = ctx.store.campaigns.jobOwner(msg.jobId)
  if (!owner || owner.deviceId !== topic.deviceId) return { reason: 'unknown_job', detail: `job ${msg.jobId} is not ${topic.deviceId}'s` }
  ctx.ingest.enqueue({ deviceId: topic.deviceId, msg, executionId: owner.executionId, campaignId: owner.campaignId })
}

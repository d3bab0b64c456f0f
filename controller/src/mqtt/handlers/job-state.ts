/** devices/{id}/jobs/{jobId}/state: the agent's view of a job, turned into execution state by the scheduler. */
import type { Handler } from '../dispatcher.ts'

export const handleJobState: Handler<'jobState'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId || (topic.jobId !== undefined && topic.jobId !== msg.jobId))
    return { reason: 'device_mismatch', detail: `job state of ${msg.deviceId}/${msg.jobId} on topic of ${topic.deviceId}/${topic.jobId}` }
  // A rejected message changes nothing, not even last_seen (as for results).
  if (!ctx.scheduler.onJobState(topic.deviceId, msg)) return { reason: 'unknown_job', detail: `job ${msg.jobId} is not ${topic.deviceId}'s` }
  ctx.store.devices.touch(msg.deviceId, ctx.now())
}

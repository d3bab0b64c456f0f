/**
 * devices/{id}/jobs/{jobId}/state: the agent's view of a job, turned into execution state by the scheduler.
 * Its writes (progress, state, the campaign's state, last_seen) share one transaction: a fleet sends
 * several of these per results batch, and each autocommitted write was a WAL commit of its own.
 * IMMEDIATE, because it reads before it writes (see Store.writeTransaction). A routine report opens
 * no transaction at all: an IN_PROGRESS (one per results batch from a fleet agent) whose job's
 * progress that batch or an earlier report stored moments ago, or a report about a job that ended
 * moments ago (its last batch completed the execution); the scheduler notes it in memory.
 */
import type { Handler } from '../dispatcher.ts'

export const handleJobState: Handler<'jobState'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId || (topic.jobId !== undefined && topic.jobId !== msg.jobId))
    return { reason: 'device_mismatch', detail: `job state of ${msg.deviceId}/${msg.jobId} on topic of ${topic.deviceId}/${topic.jobId}` }
  if (ctx.scheduler.isRoutineJobState(topic.deviceId, msg)) return
  return ctx.store.writeTransaction(() => {
    // A rejected message changes nothing, not even last_seen (as for results).
    if (!ctx.scheduler.onJobState(topic.deviceId, msg)) return { reason: 'unknown_job' as const, detail: `job ${msg.jobId} is not ${topic.deviceId}'s` }
    ctx.store.devices.touch(msg.deviceId, ctx.now())
  })
}

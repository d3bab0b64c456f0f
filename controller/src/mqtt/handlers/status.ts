/** devices/{id}/status (retained, also the Last Will): online/offline. Coming online resumes the device's work. */
import type { Handler } from '../dispatcher.ts'

export const handleStatus: Handler<'status'> = (ctx, msg, topic, { retained }) => {
  if (msg.deviceId !== topic.deviceId)
    return { reason: 'device_mismatch', detail: `status for ${msg.deviceId} on ${topic.deviceId}'s topic` }
  const before = ctx.store.devices.recordStatus(msg.deviceId, msg.state, msg.agentVersion, ctx.now())
  ctx.log.info({ deviceId: msg.deviceId, state: msg.state }, 'device status')
  // A retained replay of a state we already had is old news; a live "online" always resumes.
  if (msg.state === 'online' && !(retained && before === 'online')) ctx.scheduler.onDeviceOnline(msg.deviceId)
}

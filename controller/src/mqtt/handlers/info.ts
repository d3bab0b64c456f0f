/** devices/{id}/info (retained): registers the device or updates its inventory, runtimes and profile. */
import type { Handler } from '../dispatcher.ts'

export const handleInfo: Handler<'info'> = (ctx, msg, topic) => {
  if (msg.deviceId !== topic.deviceId)
    return { reason: 'device_mismatch', detail: `info for ${msg.deviceId} on ${topic.deviceId}'s topic` }
  ctx.store.devices.recordInfo(msg, ctx.now())
  ctx.log.info({ deviceId: msg.deviceId, hardwareProfile: msg.hardwareProfile, runtimes: msg.runtimes.map((r) => r.name) }, 'device info')
}

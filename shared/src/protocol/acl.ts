/**
 * The device ACL, in one place: the embedded broker's aedes hooks call these functions and the
 * mosquitto ACL in deploy/ mirrors them (`pattern write fleetnas/v1/devices/%u/...`).
 *
 * A device (MQTT username = its id) may publish only to its own status, info, jobs/{jobId}/state
 * and results topics, and subscribe only to its own jobs and acks topics (exact filters, no
 * wildcards). Everything else is the controller's.
 */
import { AGENT_PUBLISH_KINDS, agentSubscriptions, isValidId, parseTopic } from './topics.ts'

export function mayPublish(deviceId: string, topic: string): boolean {
  const parsed = parseTopic(topic)
  return parsed !== undefined && parsed.deviceId === deviceId && AGENT_PUBLISH_KINDS.has(parsed.kind)
}

export function maySubscribe(deviceId: string, topicFilter: string): boolean {
  // A username such as '+' would otherwise turn its own filters into wildcards over every device.
  return isValidId(deviceId) && agentSubscriptions(deviceId).includes(topicFilter)
}

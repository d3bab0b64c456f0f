/**
 * fleetnas MQTT topics (protocol v1). Root `fleetnas/v1`; a device publishes only under its own id.
 *
 * | topic                                  | from       | retained | QoS | message       |
 * | devices/{id}/status                    | agent, LWT | yes      | 1   | StatusMessage |
 * | devices/{id}/info                      | agent      | yes      | 1   | InfoMessage   |
 * | devices/{id}/jobs                      | controller | no       | 1   | JobMessage or CancelMessage |
 * | devices/{id}/jobs/{jobId}/state        | agent      | no       | 1   | JobStateMessage |
 * | devices/{id}/results                   | agent      | no       | 1   | ResultsMessage |
 * | devices/{id}/acks                      | controller | no       | 1   | AckMessage    |
 */
export const TOPIC_ROOT = 'fleetnas/v1'

export type AgentTopicKind = 'status' | 'info' | 'jobState' | 'results'
export type ControllerTopicKind = 'jobs' | 'acks'
export type TopicKind = AgentTopicKind | ControllerTopicKind

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Device and job ids must be safe as a single topic level and in URLs. */
export function isValidId(id: string): boolean {
  return ID_RE.test(id)
}

export const topics = {
  status: (deviceId: string) => `${TOPIC_ROOT}/devices/${deviceId}/status`,
  info: (deviceId: string) => `${TOPIC_ROOT}/devices/${deviceId}/info`,
  jobs: (deviceId: string) => `${TOPIC_ROOT}/devices/${deviceId}/jobs`,
  jobState: (deviceId: string, jobId: string) => `${TOPIC_ROOT}/devices/${deviceId}/jobs/${jobId}/state`,
  results: (deviceId: string) => `${TOPIC_ROOT}/devices/${deviceId}/results`,
  acks: (deviceId: string) => `${TOPIC_ROOT}/devices/${deviceId}/acks`,
}

/** What the controller subscribes to (every device's agent-side topics). */
export const controllerSubscriptions = [
  `${TOPIC_ROOT}/devices/+/status`,
  `${TOPIC_ROOT}/devices/+/info`,
  `${TOPIC_ROOT}/devices/+/jobs/+/state`,
  `${TOPIC_ROOT}/devices/+/results`,
]

/** What an agent subscribes to. */
export const agentSubscriptions = (deviceId: string) => [topics.jobs(deviceId), topics.acks(deviceId)]

export interface ParsedTopic {
  kind: TopicKind
  deviceId: string
  jobId?: string
}

/** Parses a fleetnas topic; undefined for anything outside the protocol. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/')
  if (parts.length < 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'devices') return undefined
  const deviceId = parts[3]
  if (!isValidId(deviceId)) return undefined
  if (parts.length === 5) {
    const kind = parts[4]
    if (kind === 'status' || kind === 'info' || kind === 'jobs' || kind === 'results' || kind === 'acks')
      return { kind, deviceId }
    return undefined
  }
  if (parts.length === 7 && parts[4] === 'jobs' && parts[6] === 'state' && isValidId(parts[5]))
    return { kind: 'jobState', deviceId, jobId: parts[5] }
  return undefined
}

/** Topic kinds a device may publish to (the ACL rule, shared by aedes hooks and mosquitto config). */
export const AGENT_PUBLISH_KINDS: ReadonlySet<TopicKind> = new Set(['status', 'info', 'jobState', 'results'])
export const AGENT_SUBSCRIBE_KINDS: ReadonlySet<TopicKind> = new Set(['jobs', 'acks'])

/**
 * The agent's MQTT session (mqtt.js 5, MQTT 3.1.1): client id = device id, persistent session
 * (clean=false), Last Will = retained offline status, QoS 1 everywhere, reconnect with a growing
 * capped period. Every inbound payload goes through shared `decodeMessage` and one handler per
 * message family; what fails is counted, logged once per reason and dropped.
 */
import { readFileSync } from 'node:fs'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import {
  agentSubscriptions,
  decodeMessage,
  encodeMessage,
  parseTopic,
  PROTOCOL_VERSION,
  topics,
  type AckMessage,
  type JobCommand,
  type MessageKind,
  type MessageOf,
  type StatusMessage,
} from '@fleetnas/shared'
import type { AgentConfig } from './config.ts'
import type { Logger } from './logger.ts'
import { AGENT_VERSION } from './version.ts'

export interface InboundHandlers {
  jobs: (command: JobCommand) => Promise<void> | void
  acks: (ack: AckMessage) => Promise<void> | void
}

export interface LinkEvents {
  onConnect: () => void
  onDisconnect: (why: string) => void
  onInvalid: (topic: string, reason: string) => void
}

export interface ReconnectOptions {
  minMs: number
  maxMs: number
}

export const DEFAULT_RECONNECT: ReconnectOptions = { minMs: 1000, maxMs: 30000 }

export function statusMessage(deviceId: string, state: StatusMessage['state']): StatusMessage {
  return { v: PROTOCOL_VERSION, deviceId, state, agentVersion: AGENT_VERSION, time: new Date().toISOString() }
}

export class MqttLink {
  readonly client: MqttClient
  private invalidCount = 0
  private readonly loggedReasons = new Set<string>()
  private readonly reconnect: ReconnectOptions

  constructor(
    private readonly config: AgentConfig,
    private readonly handlers: InboundHandlers,
    private readonly events: LinkEvents,
    private readonly logger: Logger,
    reconnect: Partial<ReconnectOptions> = {},
  ) {
    this.reconnect = { ...DEFAULT_RECONNECT, ...reconnect }
    const { deviceId, tls } = config
    const options: IClientOptions = {
      clientId: deviceId,
      clean: false,
      protocolVersion: 4,
      keepalive: 30,
      connectTimeout: 10000,
      reconnectPeriod: this.reconnect.minMs,
      username: config.username,
      password: config.password,
      rejectUnauthorized: tls.rejectUnauthorized,
      will: {
        topic: topics.status(deviceId),
        payload: Buffer.from(encodeMessage('status', statusMessage(deviceId, 'offline'))),
        qos: 1,
        retain: true,
      },
    }
    if (tls.ca) options.ca = readFileSync(tls.ca)
    if (tls.cert) options.cert = readFileSync(tls.cert)
    if (tls.key) options.key = readFileSync(tls.key)
    this.client = mqtt.connect(config.broker, options)
    let connectedSinceClose = false
    this.client.on('connect', () => {
      connectedSinceClose = true
      this.client.options.reconnectPeriod = this.reconnect.minMs
      this.client.subscribe(agentSubscriptions(deviceId), { qos: 1 }, (err) => {
        if (err) this.logger.warn({ err }, 'subscribe failed')
      })
      this.events.onConnect()
    })
    this.client.on('close', () => {
      // Back off: the first retry after a lost connection waits minMs, each failed attempt after
      // it doubles the wait, up to maxMs.
      const period = this.client.options.reconnectPeriod ?? this.reconnect.minMs
      this.client.options.reconnectPeriod = connectedSinceClose ? this.reconnect.minMs : Math.min(this.reconnect.maxMs, period * 2)
      connectedSinceClose = false
      this.events.onDisconnect('connection closed')
    })
    this.client.on('error', (err) => this.logger.warn({ err: err.message }, 'mqtt error'))
    this.client.on('message', (topic, payload) => void this.dispatch(topic, payload))
  }

  get invalidMessages(): number {
    return this.invalidCount
  }

  get connected(): boolean {
    return this.client.connected
  }

  /** QoS 1 publish of a protocol message to one of this device's topics. */
  publish<K extends 'status' | 'info' | 'jobState' | 'results'>(kind: K, topic: string, message: MessageOf[K], retain = false): void {
    this.client.publish(topic, encodeMessage(kind, message), { qos: 1, retain }, (err) => {
      if (err) this.logger.warn({ err: err.message, topic }, 'publish failed')
    })
  }

  /** The single dispatcher: topic -> message family -> decode -> handler. */
  private async dispatch(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseTopic(topic)
    if (!parsed || parsed.deviceId !== this.config.deviceId || (parsed.kind !== 'jobs' && parsed.kind !== 'acks')) {
      this.invalid(topic, 'unexpected topic')
      return
    }
    const kind: MessageKind = parsed.kind
    const decoded = decodeMessage(kind, payload)
    if (!decoded.ok) {
      this.invalid(topic, decoded.reason)
      return
    }
    try {
      if (parsed.kind === 'jobs') await this.handlers.jobs(decoded.value as JobCommand)
      else await this.handlers.acks(decoded.value as AckMessage)
    } catch (err) {
      this.logger.error({ err, topic }, 'handling a message failed')
    }
  }

  private invalid(topic: string, reason: string): void {
    this.invalidCount++
    if (!this.loggedReasons.has(reason) && this.loggedReasons.size < 1000) {
      this.loggedReasons.add(reason)
      this.logger.warn({ topic, reason, invalidMessages: this.invalidCount }, 'dropped an invalid message')
    }
    this.events.onInvalid(topic, reason)
  }

  /** Publishes the retained offline status (when connected) and closes the session. */
  async close(): Promise<void> {
    if (this.client.connected) {
      await this.client
        .publishAsync(topics.status(this.config.deviceId), encodeMessage('status', statusMessage(this.config.deviceId, 'offline')), { qos: 1, retain: true })
        .catch(() => undefined)
    }
    await this.client.endAsync()
  }
}

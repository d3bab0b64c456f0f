/**
 * What changed in the controller, as ids: a device (status, info, results touched it), a
 * campaign (created, progressed, changed state, canceled) or an architecture request (created,
 * progressed, answered, failed). The scheduler, the MQTT ingest and the architecture requests say
 * so; readers (the /v1/events stream) look the current state up themselves, so an event carries
 * no data that could go stale and a burst of changes costs one lookup per reader.
 */
import { EventEmitter } from 'node:events'
import { parseTopic } from '@fleetnas/shared'

export interface FleetEventMap {
  device: [deviceId: string]
  campaign: [campaignId: string]
  architecture: [requestId: string]
}

export class FleetEvents extends EventEmitter<FleetEventMap> {
  constructor() {
    super()
    this.setMaxListeners(0) // one listener pair per open event stream
  }

  device(deviceId: string): void {
    this.emit('device', deviceId)
  }

  campaign(campaignId: string): void {
    this.emit('campaign', campaignId)
  }

  architecture(requestId: string): void {
    this.emit('architecture', requestId)
  }

  /** After an inbound MQTT message was handled: the device it came from may have changed. */
  afterMessage(topic: string): void {
    const parsed = parseTopic(topic)
    if (parsed && (parsed.kind === 'status' || parsed.kind === 'info' || parsed.kind === 'results')) this.device(parsed.deviceId)
  }
}

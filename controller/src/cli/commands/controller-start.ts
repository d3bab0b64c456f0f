/** `fleetnas controller start`: runs the controller until SIGINT/SIGTERM, then stops it cleanly. */
export interface ControllerStartOptions {
  dataDir: string
  host: string
  port: number
  mqttPort: number
  broker?: string
  brokerUsername?: string
  brokerPassword?: string
  apiToken?: string
  insecure: boolean
  logLevel: string
  supernet?: string
  ingestGroup?: string
  scheduling: boolean
  mqttClientId?: string
}

export async function startControllerCommand(o: ControllerStartOptions): Promise<void> {
  const { startController } = await import('../../index.ts')
  const running = await startController({
    dataDir: o.dataDir,
    host: o.host,
    httpPort: o.port,
    mqttPort: o.mqttPort,
    broker: o.broker,
    brokerUsername: o.brokerUsername,
    brokerPassword: o.brokerPassword,
    apiToken: o.apiToken,
    insecure: o.insecure,
    logLevel: o.logLevel,
    supernet: o.supernet,
    ingestGroup: o.ingestGroup,
    scheduling: o.scheduling,
    mqttClientId: o.mqttClientId,
  } as Parameters<typeof startController>[0])
  process.stderr.write(`fleetnas controller: API ${running.httpUrl} (docs ${running.httpUrl}/docs), MQTT ${running.mqttUrl}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await running.stop()
}

/** /v1/devices: the fleet as the controller knows it, and per-device MQTT credentials. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { InventorySchema, isValidId, RuntimeInfoSchema } from '@fleetnas/shared'
import type { Device } from '../../store/devices.ts'
import type { DeviceEnvironment } from '../../store/measurements.ts'
import { DeviceIdInvalid, DeviceNotFound } from '../../errors.ts'
import { generateSecret, hashSecret } from '../../mqtt/credentials.ts'
import { errorResponses } from '../schemas.ts'
import '../context.ts'

const DeviceSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  hardwareProfile: Type.Union([Type.String(), Type.Null()]),
  threads: Type.Union([Type.Integer(), Type.Null()]),
  inventory: Type.Union([InventorySchema, Type.Null()]),
  runtimes: Type.Array(RuntimeInfoSchema),
  agentVersion: Type.Union([Type.String(), Type.Null()]),
  lastSeen: Type.Union([Type.String(), Type.Null()]),
  environment: Type.Union(
    [
      Type.Object({
        measuredAt: Type.String(),
        temperatureC: Type.Optional(Type.Number()),
        frequencyMHz: Type.Optional(Type.Number()),
        throttled: Type.Optional(Type.Boolean({ description: 'throttled before or after the measurement' })),
      }),
      Type.Null(),
    ],
    { description: "the sensors' reading around the device's latest measurement that carried one (null: none did)" },
  ),
})

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })

/** A device as the API shows it (also sent by the /v1/events stream), with its latest environment reading. */
export const deviceView = (d: Device, environment: DeviceEnvironment | null) => ({
  id: d.id,
  status: d.status,
  hardwareProfile: d.hardwareProfile,
  threads: d.threads,
  inventory: d.inventory,
  runtimes: d.runtimes,
  agentVersion: d.agentVersion,
  lastSeen: d.lastSeen,
  environment,
})
export type DeviceView = ReturnType<typeof deviceView>

export const devicesPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/devices', { schema: { tags: ['devices'], summary: 'List devices', response: { 200: Type.Array(DeviceSchema) } } }, async () => {
    const environments = app.store.measurements.latestEnvironments()
    return app.store.devices.list().map((d) => deviceView(d, environments.get(d.id) ?? null))
  })

  app.get(
    '/devices/:id',
    { schema: { tags: ['devices'], summary: 'One device', params: IdParams, response: { 200: DeviceSchema, ...errorResponses(404) } } },
    async (req) => {
      const d = app.store.devices.get(req.params.id)
      if (!d) throw DeviceNotFound(req.params.id)
      return deviceView(d, app.store.measurements.latestEnvironment(d.id))
    },
  )

  app.post(
    '/devices/:id/credentials',
    {
      schema: {
        tags: ['devices'],
        summary: 'Provision (or rotate) a device MQTT secret; the secret is shown only in this answer',
        params: IdParams,
        response: {
          201: Type.Object({
            deviceId: Type.String(),
            username: Type.String(),
            secret: Type.String(),
            mqttUrl: Type.String(),
            brokerChecksSecret: Type.Boolean({ description: 'false with an external broker (configure its password file) or in insecure mode' }),
          }),
          ...errorResponses(400),
        },
      },
    },
    async (req, reply) => {
      const id = req.params.id
      if (!isValidId(id) || id === app.mqtt.controllerUsername) throw DeviceIdInvalid(id)
      const secret = generateSecret()
      app.store.devices.setSecretHash(id, hashSecret(secret), new Date().toISOString())
      req.log.info({ deviceId: id }, 'device credentials provisioned')
      return reply.code(201).send({ deviceId: id, username: id, secret, mqttUrl: app.mqtt.url, brokerChecksSecret: app.mqtt.deviceAuth })
    },
  )
}

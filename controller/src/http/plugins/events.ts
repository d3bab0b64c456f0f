/**
 * GET /v1/events: server-sent events (text/event-stream) of what changes in the fleet, so a page
 * shows progress and status as they happen instead of polling.
 *
 *   event: ready         data: {}                  once, when the stream is open
 *   event: device        data: a device as GET /v1/devices/:id shows it
 *   event: campaign      data: a campaign as GET /v1/campaigns/:id shows it (with its executions)
 *   event: architecture  data: an architecture request as GET /v1/architectures/:id shows it
 *   : ping                                             every 15 s, so proxies keep the line open
 *
 * Changes are gathered for EVENT_FLUSH_MS and sent once per id with its state at that moment: a
 * burst of result batches becomes one campaign event, never a backlog of stale ones. The stream
 * sits behind the /v1 bearer hook like every other route (browsers read it with fetch, since
 * EventSource cannot send an Authorization header).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FleetEvents } from '../../events.ts'
import { deviceView } from './devices.ts'
import '../context.ts'

export const EVENT_FLUSH_MS = 200
const HEARTBEAT_MS = 15_000

declare module 'fastify' {
  interface FastifyInstance {
    events: FleetEvents
  }
}

const Query = Type.Object({
  devices: Type.Optional(Type.Boolean({ default: true, description: 'send device events' })),
  campaigns: Type.Optional(Type.Boolean({ default: true, description: 'send campaign events' })),
  campaign: Type.Optional(Type.String({ maxLength: 200, description: 'only this campaign' })),
  architectures: Type.Optional(Type.Boolean({ default: true, description: 'send architecture request events' })),
  architecture: Type.Optional(Type.String({ maxLength: 200, description: 'only this architecture request' })),
})

export const eventsPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const open = new Set<() => void>()
  // Open streams would keep app.close() waiting forever: end them first.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end()
  })

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events: device, campaign and architecture request changes as they happen (text/event-stream)',
        querystring: Query,
      },
    },
    async (req, reply) => {
      const {
        devices: wantDevices = true,
        campaigns: wantCampaigns = true,
        campaign: onlyCampaign,
        architectures: wantArchitectures = true,
        architecture: onlyArchitecture,
      } = req.query
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      const devices = new Set<string>()
      const campaigns = new Set<string>()
      const architectures = new Set<string>()
      let timer: NodeJS.Timeout | undefined
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

      const flush = () => {
        timer = undefined
        for (const id of devices) {
          const d = app.store.devices.get(id)
          if (d) send('device', deviceView(d, app.store.measurements.latestEnvironment(id)))
        }
        for (const id of campaigns) {
          try {
            send('campaign', app.scheduler.view(id))
          } catch {
            // deleted meanwhile: nothing to show
          }
        }
        for (const id of architectures) {
          try {
            send('architecture', app.architectures.view(id))
          } catch {
            // unknown id: nothing to show
          }
        }
        devices.clear()
        campaigns.clear()
        architectures.clear()
      }
      const schedule = () => {
        timer ??= setTimeout(flush, EVENT_FLUSH_MS)
      }
      const onDevice = (id: string) => {
        devices.add(id)
        schedule()
      }
      const onCampaign = (id: string) => {
        if (onlyCampaign !== undefined && id !== onlyCampaign) return
        campaigns.add(id)
        schedule()
      }
      const onArchitecture = (id: string) => {
        if (onlyArchitecture !== undefined && id !== onlyArchitecture) return
        architectures.add(id)
        schedule()
      }
      if (wantDevices) app.events.on('device', onDevice)
      if (wantCampaigns) app.events.on('campaign', onCampaign)
      if (wantArchitectures) app.events.on('architecture', onArchitecture)
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS)

      const cleanup = () => {
        open.delete(end)
        clearInterval(heartbeat)
        if (timer) clearTimeout(timer)
        app.events.off('device', onDevice)
        app.events.off('campaign', onCampaign)
        app.events.off('architecture', onArchitecture)
      }
      function end() {
        cleanup()
        res.end()
      }
      open.add(end)
      res.once('close', cleanup) // the client went away (req 'close' fires as soon as the request is read)
      res.write('retry: 2000\n\n')
      send('ready', {})
    },
  )
}

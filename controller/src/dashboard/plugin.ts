/**
 * The dashboard: the built client (controller/dashboard/dist, made by `npm run build`) served at
 * `/` on the API's own origin, plus the few routes the client needs beside /v1:
 *
 *   GET  /dashboard/session            open: {tokenRequired}; the page decides between login and views
 *   POST /dashboard/session {token}    open: {tokenRequired, valid}; how the page checks a typed token
 *                                      (a 200 either way: a wrong token is an answer, not a failed load)
 *   POST /dashboard/login {code}       open: trades a one-time login code for the API token
 *   POST /v1/dashboard/login-links     bearer: a new one-time link (`fleetnas demo` prints one)
 *   GET  /v1/dashboard/luts/:profile   bearer: a LUT's block rows, lean, for the heatmap (see lut-rows.ts)
 *
 * `createDashboard` returns two plugins sharing one set of login codes: `site` for the root and
 * `api` for inside the /v1 scope (behind its bearer hook).
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { DashboardLoginCode } from '../errors.ts'
import { sameSecret } from '../mqtt/credentials.ts'
import { errorResponses } from '../http/schemas.ts'
import { LoginLinks } from './login-links.ts'
import { lutRowsJson } from './lut-rows.ts'

export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url))

// Plot draws with inline style attributes; everything else comes from this origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>fleetnas</title>
<body style="font-family:system-ui;margin:2rem;max-width:40rem">
<h1>The fleetnas dashboard is not built</h1>
<p>Run <code>npm run build</code> in the repository (it bundles the dashboard with esbuild in a few
seconds), then reload. The API is up: see <a href="/docs">/docs</a>.</p>`

/**
 * A fresh checkout (`npm ci`, then `fleetnas demo`) has no built client yet: bundle it once, here,
 * so the two commands of the README are enough. Where the bundler is not installed (a production
 * install) the page says how to build it instead.
 */
async function buildOnFirstStart(log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void }): Promise<void> {
  try {
    const { buildDashboard } = (await import('../../dashboard/build.ts')) as { buildDashboard: () => Promise<{ ms: number }> }
    const built = await buildDashboard()
    log.info({ ms: Math.round(built.ms) }, 'dashboard built on first start')
  } catch (err) {
    log.warn({ err }, 'dashboard could not be built on first start')
  }
}

export interface DashboardOptions {
  /** undefined: the API needs no token (insecure mode). */
  apiToken: string | undefined
  /** Folder of the built client; default controller/dashboard/dist. */
  distDir?: string
}

export function createDashboard(opts: DashboardOptions) {
  const links = new LoginLinks()
  const distDir = opts.distDir ?? DASHBOARD_DIST

  const site: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/dashboard/session',
      {
        schema: {
          tags: ['dashboard'],
          summary: 'Whether the API needs a token (open)',
          response: { 200: Type.Object({ tokenRequired: Type.Boolean() }) },
        },
      },
      async () => ({ tokenRequired: opts.apiToken !== undefined }),
    )

    app.post(
      '/dashboard/session',
      {
        schema: {
          tags: ['dashboard'],
          summary: 'Whether a token is the API token (open; 200 with valid: false for a wrong one)',
          body: Type.Object({ token: Type.String({ maxLength: 1000 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ tokenRequired: Type.Boolean(), valid: Type.Boolean() }), ...errorResponses(400) },
        },
      },
      async (req) => ({
        tokenRequired: opts.apiToken !== undefined,
        valid: opts.apiToken === undefined || sameSecret(req.body.token, opts.apiToken),
      }),
    )

    app.post(
      '/dashboard/login',
      {
        schema: {
          tags: ['dashboard'],
          summary: 'Trade a one-time login code for the API token (open; each code works once)',
          body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ token: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses(400, 401) },
        },
      },
      async (req) => {
        if (!links.redeem(req.body.code)) throw DashboardLoginCode()
        req.log.info('dashboard login link used')
        return { token: opts.apiToken ?? null }
      },
    )

    if (!existsSync(`${distDir}/index.html`) && distDir === DASHBOARD_DIST) await buildOnFirstStart(app.log)
    if (!existsSync(`${distDir}/index.html`)) {
      app.log.warn({ distDir }, 'dashboard not built (npm run build); / explains how')
      app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT))
      return
    }
    await app.register(fastifyStatic, {
      root: distDir,
      prefix: '/',
      wildcard: false, // one route per built file: unknown paths keep the API's JSON 404
      decorateReply: false, // swagger-ui registers its own copy
      preCompressed: true, // the build writes .br and .gz beside each asset
      cacheControl: false,
      setHeaders: (res, path) => {
        // Assets carry a content hash in their name; index.html must always be fetched again.
        if (path.endsWith('.html')) {
          res.setHeader('cache-control', 'no-cache')
          res.setHeader('content-security-policy', CSP)
          res.setHeader('x-content-type-options', 'nosniff')
          res.setHeader('referrer-policy', 'no-referrer')
        } else res.setHeader('cache-control', 'public, max-age=31536000, immutable')
      },
    })
  }

  const api: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/dashboard/luts/:hardwareProfile',
      {
        schema: {
          tags: ['dashboard'],
          summary: "A LUT's block rows for the dashboard heatmap: the fields it draws, each block's spec, no per-row schema",
          params: Type.Object({ hardwareProfile: Type.String({ maxLength: 200 }) }),
          querystring: Type.Object({ runtime: Type.Optional(Type.String({ maxLength: 64 })), threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })) }),
        },
      },
      async (req, reply) => {
        const json = lutRowsJson(app.store, req.params.hardwareProfile, req.query.runtime ?? 'onnxruntime', req.query.threads ?? 1)
        return reply.type('application/json; charset=utf-8').send(json)
      },
    )

    app.post(
      '/dashboard/login-links',
      {
        schema: {
          tags: ['dashboard'],
          summary: 'A one-time dashboard login link (valid 15 minutes, works once)',
          response: {
            201: Type.Object({ url: Type.String(), path: Type.String(), expiresAt: Type.String() }),
            ...errorResponses(401),
          },
        },
      },
      async (req, reply) => {
        const { code, expiresAt } = links.issue()
        const path = `/#/login?code=${code}`
        return reply.code(201).send({ url: `${req.protocol}://${req.host}${path}`, path, expiresAt: new Date(expiresAt).toISOString() })
      },
    )
  }

  return { site, api, links }
}

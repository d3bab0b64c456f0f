/** Test helpers: a controller on free ports in a temp dir, cleaned up by the test; event waits. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { pollUntil } from '@fleetnas/shared'
import { startController, type RunningController } from '../controller.ts'
import type { ControllerConfigInput } from '../config.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

export function tempDir(t: Teardown, prefix = 'fleetnas-ctl-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const silentLogger = () => pino({ level: process.env.FLEETNAS_TEST_LOG ?? 'silent' })

export async function startTestController(t: Teardown, config: ControllerConfigInput = {}): Promise<RunningController> {
  const ctl = await startController(
    { dataDir: tempDir(t), httpPort: 0, mqttPort: 0, insecure: true, schedulerIntervalMs: 50, ...config },
    { logger: silentLogger(), env: {} },
  )
  t.teardown(() => ctl.stop())
  return ctl
}

/** Waits until `check` returns a truthy value (re-checked every 20 ms), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  return pollUntil(async () => (await check()) || undefined, { what, everyMs: 20, timeoutMs }) as Promise<NonNullable<T>>
}

/** JSON over fastify inject with an optional bearer token. */
export async function api(ctl: RunningController, method: 'GET' | 'POST', url: string, body?: unknown, token = ctl.apiToken) {
  const res = await ctl.http.inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body !== undefined && { payload: body as object }),
  })
  const json = res.headers['content-type']?.toString().includes('json') ? res.json() : undefined
  return { status: res.statusCode, json, body: res.body, headers: res.headers }
}

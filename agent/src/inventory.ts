/**
 * Hardware inventory with systeminformation, shaped to shared's InventorySchema. Each probe is
 * bounded in time and optional: a probe that fails or hangs leaves its field at a neutral value.
 */
import { readFile } from 'node:fs/promises'
import { arch as nodeArch, cpus, hostname, totalmem } from 'node:os'
import si from 'systeminformation'
import type { Inventory } from '@fleetnas/shared'

async function probe<T>(f: () => Promise<T>, timeoutMs = 5000): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      f(),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs)
      }),
    ])
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

/** Raspberry Pi and Jetson name themselves here (NUL-terminated). */
export async function readDeviceTreeModel(path = '/proc/device-tree/model'): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'latin1')).replace(/\0/g, '').trim()
    return text || undefined
  } catch {
    return undefined
  }
}

const clip = (s: string | undefined, max: number) => (s ?? '').trim().slice(0, max)

export async function collectInventory(): Promise<Inventory> {
  const [cpu, mem, os, system, graphics, temp, dtModel] = await Promise.all([
    probe(() => si.cpu()),
    probe(() => si.mem()),
    probe(() => si.osInfo()),
    probe(() => si.system()),
    probe(() => si.graphics()),
    probe(() => si.cpuTemperature()),
    readDeviceTreeModel(),
  ])
  const fallbackCpu = cpus()[0]?.model
  const cpuModel = cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : fallbackCpu
  const osName = os ? `${os.distro} ${os.release}`.trim() : ''
  const inv: Inventory = {
    cpuModel: clip(cpuModel || fallbackCpu || 'unknown', 256),
    cpuVendor: clip(cpu?.vendor || cpu?.manufacturer || 'unknown', 128),
    cores: clampInt(cpu?.cores ?? cpus().length),
    physicalCores: clampInt(cpu?.physicalCores ?? cpus().length),
    maxFrequencyMHz: Math.max(0, Math.round((cpu?.speedMax || cpu?.speed || 0) * 1000)),
    memoryBytes: mem?.total ?? totalmem(),
    os: clip(osName || `${os?.platform ?? process.platform}`, 256),
    // Node's names (x64, arm64, arm) are what profiles match on.
    arch: clip(nodeArch(), 32),
    hostname: clip(os?.hostname || hostname(), 256),
    model: clip(dtModel || [system?.manufacturer, system?.model].filter((s) => s && s !== 'Not Specified').join(' ') || 'unknown', 256),
    gpus: (graphics?.controllers ?? [])
      .map((g) => clip([g.vendor, g.model].filter(Boolean).join(' '), 256))
      .filter((g) => g.length > 0)
      .slice(0, 16),
  }
  if (temp && Number.isFinite(temp.main) && temp.main > 0 && temp.main < 200) inv.temperatureC = temp.main
  return inv
}

function clampInt(n: number): number {
  return Math.max(0, Math.min(4096, Math.round(n || 0)))
}

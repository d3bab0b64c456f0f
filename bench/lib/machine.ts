/** What machine a benchmark ran on and how busy it was: CPU model, cores, load averages. */
import os from 'node:os'

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  node: string
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  }
}

/** 1, 5 and 15 minute load averages, rounded to two decimals. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg().map((v) => Math.round(v * 100) / 100)
  return [a, b, c]
}

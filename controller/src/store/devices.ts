/** Device rows: registered by info messages, online/offline from status messages, credentials by the API. */
import type Database from 'better-sqlite3'
import type { InfoMessage, Inventory, RuntimeInfo } from '@fleetnas/shared'

export type DeviceStatus = 'online' | 'offline'

export interface Device {
  id: string
  status: DeviceStatus
  hardwareProfile: string | null
  threads: number | null
  inventory: Inventory | null
  runtimes: RuntimeInfo[]
  agentVersion: string | null
  lastSeen: string | null
}

interface DeviceRow {
  id: string
  status: DeviceStatus
  hardware_profile: string | null
  threads: number | null
  inventory: string | null
  runtimes: string | null
  agent_version: string | null
  last_seen: string | null
}

const COLUMNS = 'id, status, hardware_profile, threads, inventory, runtimes, agent_version, last_seen'

function toDevice(r: DeviceRow): Device {
  return {
    id: r.id,
    status: r.status,
    hardwareProfile: r.hardware_profile,
    threads: r.threads,
    inventory: r.inventory ? JSON.parse(r.inventory) : null,
    runtimes: r.runtimes ? JSON.parse(r.runtimes) : [],
    agentVersion: r.agent_version,
    lastSeen: r.last_seen,
  }
}

export function deviceQueries(db: Database.Database) {
  const ensure = db.prepare(`INSERT INTO devices (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`)
  const getOne = db.prepare<[string], DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE id = ?`)
  const all = db.prepare<[], DeviceRow>(`SELECT ${COLUMNS} FROM devices ORDER BY id`)
  const byProfile = db.prepare<[string], DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE hardware_profile = ? ORDER BY id`)
  const setStatus = db.prepare(`UPDATE devices SET status = ?, agent_version = ?, last_seen = ? WHERE id = ?`)
  const setInfo = db.prepare(
    `UPDATE devices SET hardware_profile = ?, threads = ?, inventory = ?, runtimes = ?, agent_version = ?, last_seen = ? WHERE id = ?`,
  )
  const touch = db.prepare(`UPDATE devices SET last_seen = ? WHERE id = ?`)
  const profileOf = db.prepare<[string], { hardware_profile: string | null }>(`SELECT hardware_profile FROM devices WHERE id = ?`)
  const statusOf = db.prepare<[string], { status: DeviceStatus }>(`SELECT status FROM devices WHERE id = ?`)
  const allOffline = db.prepare(`UPDATE devices SET status = 'offline' WHERE status = 'online'`)
  const setSecret = db.prepare(`UPDATE devices SET secret_hash = ? WHERE id = ?`)
  const getSecret = db.prepare<[string], { secret_hash: string | null }>(`SELECT secret_hash FROM devices WHERE id = ?`)
  const countOnline = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM devices WHERE status = 'online'`)
  const countAll = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM devices`)

  const ensureDevice = (id: string, now: string) => ensure.run(id, now)
  // Reads, then writes: IMMEDIATE, so another process writing in between makes it wait, not fail.
  const recordStatus = db.transaction((id: string, status: DeviceStatus, agentVersion: string, now: string): DeviceStatus | undefined => {
    const before = statusOf.get(id)?.status
    ensureDevice(id, now)
    setStatus.run(status, agentVersion, now, id)
    return before
  })

  return {
    get: (id: string): Device | undefined => {
      const r = getOne.get(id)
      return r && toDevice(r)
    },
    list: (): Device[] => all.all().map(toDevice),
    /** A device's hardware profile alone (ingest reads it per batch; the inventory JSON is not parsed). */
    hardwareProfile: (id: string): string | null => profileOf.get(id)?.hardware_profile ?? null,
    status: (id: string): DeviceStatus | undefined => statusOf.get(id)?.status,
    listByProfile: (profile: string): Device[] => byProfile.all(profile).map(toDevice),
    /** Records a status message; returns the previous status (undefined for a new device). */
    recordStatus: (id: string, status: DeviceStatus, agentVersion: string, now: string): DeviceStatus | undefined => recordStatus.immediate(id, status, agentVersion, now),
    recordInfo: db.transaction((info: InfoMessage, now: string): void => {
      ensureDevice(info.deviceId, now)
      setInfo.run(info.hardwareProfile, info.threads, JSON.stringify(info.inventory), JSON.stringify(info.runtimes), info.agentVersion, now, info.deviceId)
    }),
    touch: (id: string, time: string) => touch.run(time, id),
    /** On start with an embedded broker nobody is connected yet: every device is offline until it says otherwise. */
    markAllOffline: () => allOffline.run().changes,
    setSecretHash: db.transaction((id: string, hash: string, now: string) => {
      ensureDevice(id, now)
      setSecret.run(hash, id)
    }),
    secretHash: (id: string): string | null => getSecret.get(id)?.secret_hash ?? null,
    countOnline: () => countOnline.get()!.n,
    count: () => countAll.get()!.n,
  }
}
export type DeviceQueries = ReturnType<typeof deviceQueries>

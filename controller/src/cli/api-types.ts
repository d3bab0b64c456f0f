/** The shapes of API replies the CLI reads (the HTTP contract in README). */
export interface ExecutionView {
  id: string
  deviceId: string
  runtime: string
  threads: number
  state: string
  attempts: number
  done: number
  total: number
  reason?: string | null
}

export interface CampaignView {
  id: string
  name: string
  state: string
  createdAt?: string
  progress: { total: number; succeeded: number; failed: number }
  executions: ExecutionView[]
}

export interface LutSummary {
  hardwareProfile: string
  runtime: string
  threads: number
  entries: number
  devices?: number
  updatedAt?: string
}

export interface LutEntry {
  key: string
  medianMs: number
  p10Ms: number
  p90Ms: number
  cv: number
  samples: number
  devices: number
}

export interface LutView {
  hardwareProfile: string
  runtime: string
  threads: number
  entries: LutEntry[]
}

export interface DeviceView {
  id: string
  status: 'online' | 'offline'
  hardwareProfile: string
  threads?: number
  inventory?: { cpuModel?: string; cores?: number; arch?: string }
}

export const TERMINAL_CAMPAIGN_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELED'])

/**
 * The shapes of API replies the CLI reads: the controller's own view types, so the client and the
 * server cannot drift apart.
 */
import type { CampaignView, ExecutionView } from '../campaigns/scheduler.ts'
import type { LutEntryView } from '../luts/view.ts'
import type { LutSummary } from '../store/luts.ts'
import type { DeviceView } from '../http/plugins/devices.ts'

export type { CampaignView, DeviceView, ExecutionView, LutSummary }
export type LutEntry = LutEntryView

export interface LutView {
  hardwareProfile: string
  runtime: string
  threads: number
  entries: LutEntryView[]
  overheads?: LutEntryView[]
  architectures?: LutEntryView[]
}

export const TERMINAL_CAMPAIGN_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED'])

/** The API's reply shapes, taken from the controller's own view types so the two cannot drift apart. */
export type { CampaignView, DeviceView, ExecutionView, LutEntry, LutSummary, LutView } from '../../src/cli/api-types.ts'

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'TIMED_OUT', 'REJECTED'])
export const FINISHED_CAMPAIGN: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED'])

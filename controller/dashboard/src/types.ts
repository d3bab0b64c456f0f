/** The API's reply shapes, taken from the controller's own view types so the two cannot drift apart. */
export type { CampaignView, DeviceView, ExecutionView, LutSummary } from '../../src/cli/api-types.ts'
export type { DashboardLut as LutView, DashboardLutEntry as LutEntry } from '../../src/dashboard/lut-rows.ts'

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'TIMED_OUT', 'REJECTED'])
export const FINISHED_CAMPAIGN: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED'])
export type { RequestView as ArchitectureRequestView, RequestProgress, RequestResult, FrontPoint } from '../../src/architectures/service.ts'
export type { MeasuredAccuracy } from '../../src/architectures/accuracy-source.ts'
/**
 * Architecture requests still on their way (QUEUED, PROFILING, SEARCHING, FINETUNING, VERIFYING;
 * then SUCCEEDED, FAILED or CANCELED): the store's own list, since that module has no runtime dependency.
 */
export { OPEN_REQUEST_STATES } from '../../src/store/architecture-requests.ts'

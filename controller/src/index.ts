/** @fleetnas/controller public API: start a controller from a config; resolve a config without starting. */
export { startController, CONTROLLER_USERNAME, type RunningController, type StartOptions } from './controller.ts'
export { resolveControllerConfig, ControllerConfigInputSchema, CONFIG_DEFAULTS, type ControllerConfig, type ControllerConfigInput } from './config.ts'
export { CampaignInputSchema, type CampaignInput } from './campaigns/input.ts'
export type { CampaignView, ExecutionView } from './campaigns/scheduler.ts'
export * as controllerErrors from './errors.ts'

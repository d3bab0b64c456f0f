/**
 * The controller's error catalogue: every error it raises, with its code, HTTP status and a
 * message a user can act on. HTTP answers `{statusCode, code, error, message}` for each.
 */
import { defineError } from '@fleetnas/shared'

export const ConfigInvalid = defineError(
  'FLEETNAS_ERR_CONFIG_INVALID',
  400,
  (problems: string[]) => `invalid controller configuration:\n  - ${problems.join('\n  - ')}`,
)

export const HttpValidation = defineError('FLEETNAS_ERR_HTTP_VALIDATION', 400, (what: string) => `invalid request: ${what}`)
export const HttpNotFound = defineError('FLEETNAS_ERR_HTTP_NOT_FOUND', 404, (method: string, url: string) => `no route ${method} ${url}; see /docs for the API`)
export const HttpBadRequest = defineError('FLEETNAS_ERR_HTTP_BAD_REQUEST', 400, (why: string) => why)
export const HttpTooLarge = defineError('FLEETNAS_ERR_HTTP_TOO_LARGE', 413, (why: string) => why)
export const HttpMediaType = defineError('FLEETNAS_ERR_HTTP_MEDIA_TYPE', 415, (why: string) => `${why}; send application/json`)
export const HttpUriTooLong = defineError('FLEETNAS_ERR_HTTP_URI_TOO_LONG', 414, (why: string) => `${why}; ids are at most 128 characters`)
export const Internal = defineError('FLEETNAS_ERR_INTERNAL', 500, () => 'internal error; see the controller log')
export const AuthRequired = defineError(
  'FLEETNAS_ERR_AUTH_REQUIRED',
  401,
  () => 'this route needs `Authorization: Bearer <token>`; the token is in the controller config, FLEETNAS_API_TOKEN or <dataDir>/api-token',
)

export const DeviceNotFound = defineError('FLEETNAS_ERR_DEVICE_NOT_FOUND', 404, (id: string) => `no device ${JSON.stringify(id)}; GET /v1/devices lists known devices`)
export const DeviceIdInvalid = defineError(
  'FLEETNAS_ERR_DEVICE_ID_INVALID',
  400,
  (id: string) => `${JSON.stringify(id)} is not a usable device id (letters, digits, '.', '_', '-', at most 128, and not reserved)`,
)

export const CampaignNotFound = defineError('FLEETNAS_ERR_CAMPAIGN_NOT_FOUND', 404, (id: string) => `no campaign ${JSON.stringify(id)}; GET /v1/campaigns lists them`)
export const CampaignNoBlocks = defineError(
  'FLEETNAS_ERR_CAMPAIGN_NO_BLOCKS',
  400,
  (why: string) => `a campaign needs something to measure: ${why}`,
)
export const CampaignBlockInvalid = defineError('FLEETNAS_ERR_CAMPAIGN_BLOCK_INVALID', 400, (why: string) => `invalid block in campaign: ${why}`)
export const CampaignArchitectureInvalid = defineError(
  'FLEETNAS_ERR_CAMPAIGN_ARCHITECTURE_INVALID',
  400,
  (why: string) => `invalid architecture in campaign: ${why}`,
)
export const CampaignUnknownDevice = defineError(
  'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE',
  400,
  (ids: string[]) => `unknown target device(s): ${ids.join(', ')}; a device is known once its agent has connected (GET /v1/devices)`,
)
export const CampaignNoTargets = defineError(
  'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS',
  409,
  (why: string) => `no device matches the campaign targets: ${why}`,
)
export const CampaignFinished = defineError(
  'FLEETNAS_ERR_CAMPAIGN_FINISHED',
  409,
  (id: string, state: string) => `campaign ${id} is already ${state} and cannot be canceled`,
)

export const LutNotFound = defineError(
  'FLEETNAS_ERR_LUT_NOT_FOUND',
  404,
  (profile: string, runtime: string, threads: number) => `no LUT for hardware profile ${profile}, runtime ${runtime}, ${threads} thread(s); GET /v1/luts lists the LUTs that exist`,
)

export const ArchitectureInvalid = defineError(
  'FLEETNAS_ERR_ARCHITECTURE_INVALID',
  400,
  (why: string) => `${why}; an architecture id looks like g1_conv-k3-w64-mp_dwsep-k5-w32-s2 (see README "Search space")`,
)
export const ArchRequestNotFound = defineError(
  'FLEETNAS_ERR_ARCH_REQUEST_NOT_FOUND',
  404,
  (id: string) => `no architecture request ${JSON.stringify(id)}; GET /v1/architectures lists them`,
)
export const ArchRequestInvalid = defineError('FLEETNAS_ERR_ARCH_REQUEST_INVALID', 400, (why: string) => `invalid architecture request: ${why}`)
export const ArchNoSupernet = defineError(
  'FLEETNAS_ERR_ARCH_NO_SUPERNET',
  409,
  () =>
    'this controller has no meta-trained supernet to estimate accuracy with: train one (fleetnas supernet train ... --out FILE) and start the controller with --supernet FILE',
)
export const ArchRequestNotDone = defineError(
  'FLEETNAS_ERR_ARCH_REQUEST_NOT_DONE',
  409,
  (id: string, state: string) => `architecture request ${id} is ${state}; its model is there once it has SUCCEEDED`,
)
export const ArchRequestFinished = defineError(
  'FLEETNAS_ERR_ARCH_REQUEST_FINISHED',
  409,
  (id: string, state: string) => `architecture request ${id} is already ${state} and cannot be canceled`,
)
export const ArchArtifactMissing = defineError(
  'FLEETNAS_ERR_ARCH_ARTIFACT_MISSING',
  410,
  (id: string, path: string) =>
    `architecture request ${id} was fine-tuned, but its weights (${path}) are gone from the controller's data directory; request it again to fine-tune anew`,
)
export const ArchLutIncomplete = defineError(
  'FLEETNAS_ERR_ARCH_LUT_INCOMPLETE',
  409,
  (missing: string[]) =>
    `the LUT lacks ${missing.length} block(s) every candidate within the budget needs, and no device of the class is online to profile them: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}`,
)
export const ArchNoFeasible = defineError(
  'FLEETNAS_ERR_ARCH_NO_FEASIBLE',
  422,
  (latencyMs: number, fastestMs: number | null) =>
    `no architecture of the space is predicted to run within ${latencyMs} ms${fastestMs === null ? '' : ` (the fastest the search met: ${fastestMs.toFixed(4)} ms)`}`,
)

export const LatencyModelNotFound = defineError(
  'FLEETNAS_ERR_LATENCY_MODEL_NOT_FOUND',
  404,
  (profile: string, runtime: string, threads: number) =>
    `no LUT for hardware profile ${profile}, runtime ${runtime}, ${threads} thread(s), so no latency model; profile blocks first (POST /v1/campaigns), GET /v1/luts lists the LUTs`,
)

export const DashboardLoginCode = defineError(
  'FLEETNAS_ERR_DASHBOARD_LOGIN_CODE',
  401,
  () => 'this login link was used already or has expired; ask for a new one (POST /v1/dashboard/login-links, or restart `fleetnas demo`) or log in with the API token',
)

export const BrokerUnavailable = defineError(
  'FLEETNAS_ERR_MQTT_CONNECT',
  503,
  (url: string, why: string) => `cannot connect to the MQTT broker at ${url}: ${why}`,
)
export const BrokerListen = defineError(
  'FLEETNAS_ERR_MQTT_LISTEN',
  500,
  (host: string, port: number, why: string) => `the embedded MQTT broker cannot listen on ${host}:${port}: ${why}`,
)
export const HttpListen = defineError(
  'FLEETNAS_ERR_HTTP_LISTEN',
  500,
  (host: string, port: number, why: string) => `the HTTP API cannot listen on ${host}:${port}: ${why}`,
)
export const StoreOpen = defineError(
  'FLEETNAS_ERR_STORE_OPEN',
  500,
  (file: string, why: string) => `cannot open the controller database ${file}: ${why}`,
)
export const StoreTooNew = defineError(
  'FLEETNAS_ERR_STORE_VERSION',
  500,
  (file: string, found: number, known: number) => `database ${file} has schema version ${found}, newer than this controller knows (${known}); upgrade fleetnas`,
)

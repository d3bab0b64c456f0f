/** Architecture search: genetic search under latency and size budgets, its space operators and the accuracy predictor. */
export {
  evolutionSearch,
  type SearchFunctions,
  type SearchResult,
  type SearchRunOptions,
  type Candidate,
  type SearchCounts,
  type SearchTimings,
  type GenerationProgress,
} from './evolution.ts'
export { SEARCH_DEFAULTS, resolveSearchSettings, type SearchConstraints, type SearchSettings } from './search-options.ts'
export { spaceOperators, mutate, crossover, shrink, repairArchitecture, type SpaceOperators, type MutateOptions } from './operators.ts'
export { paretoFront, type FrontPoint } from './pareto.ts'
export {
  fitAccuracyPredictor,
  accuracyPredictorFromJson,
  AccuracyPredictorJsonSchema,
  MIN_SAMPLES,
  type AccuracyPredictor,
  type AccuracyPredictorJson,
  type AccuracySample,
  type FitPredictorOptions,
  type PredictorReport,
} from './accuracy-predictor.ts'
export { architectureEncoding, type ArchitectureEncoding } from './architecture-encoding.ts'
export { SearchOptionsInvalid, SearchFunctionInvalid, NoSpaceMember, PredictorDataInvalid, PredictorInvalid } from './errors.ts'

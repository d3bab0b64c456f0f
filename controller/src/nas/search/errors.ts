/** Error catalogue of architecture search and accuracy prediction (FLEETNAS_ERR_SEARCH_*). */
import { defineError } from '@fleetnas/shared'

export const SearchOptionsInvalid = defineError(
  'FLEETNAS_ERR_SEARCH_OPTIONS',
  400,
  (problems: string[]) => `invalid search options: ${problems.join('; ')}`,
)

export const NoSpaceMember = defineError(
  'FLEETNAS_ERR_SEARCH_NO_MEMBER',
  500,
  (what: string, tries: number) =>
    `${what} gave no member of the search space in ${tries} tries (repair and resampling included); check the space's downsample and depth settings`,
)

export const PredictorDataInvalid = defineError(
  'FLEETNAS_ERR_SEARCH_PREDICTOR_DATA',
  400,
  (why: string) => `cannot fit the accuracy predictor: ${why}`,
)

export const PredictorInvalid = defineError(
  'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID',
  400,
  (why: string) => `not a fleetnas accuracy predictor (${why}); pass what AccuracyPredictor.toJSON wrote`,
)

export const SearchFunctionInvalid = defineError(
  'FLEETNAS_ERR_SEARCH_FUNCTION',
  500,
  (what: string) => `a search function broke its contract: ${what}`,
)

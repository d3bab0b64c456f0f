/**
 * Error catalogue of the few-shot data layer. Every message names the thing to fix (a path, a
 * file, an option) so the CLI can print it as is; tests assert the codes.
 */
import { defineError } from '@fleetnas/shared'

export const DataOptionsInvalid = defineError(
  'FLEETNAS_ERR_DATA_OPTIONS_INVALID',
  400,
  (problems: string[]) => `invalid dataset options: ${problems.join('; ')}`,
)

export const DataKindUnknown = defineError(
  'FLEETNAS_ERR_DATA_KIND_UNKNOWN',
  400,
  (kind: string) => `unknown dataset kind '${kind}': use glyphs, omniglot or folder`,
)

export const DataPathMissing = defineError(
  'FLEETNAS_ERR_DATA_PATH_MISSING',
  404,
  (path: string, what: string) => `${what} not found: ${path} (check the path; nothing is downloaded)`,
)

export const DataLayoutInvalid = defineError(
  'FLEETNAS_ERR_DATA_LAYOUT_INVALID',
  400,
  (path: string, why: string) => `unexpected dataset layout in ${path}: ${why}`,
)

export const DataEmpty = defineError(
  'FLEETNAS_ERR_DATA_EMPTY',
  400,
  (path: string, why: string) => `no usable images in ${path}: ${why}`,
)

export const DataImageUnreadable = defineError(
  'FLEETNAS_ERR_DATA_IMAGE_UNREADABLE',
  422,
  (file: string, reason: string) => `cannot read image ${file}: ${reason} (replace or delete the file)`,
)

export const DataNotEnoughClasses = defineError(
  'FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES',
  400,
  (split: string, have: number, way: number) =>
    `the ${split} split has ${have} class(es) but a ${way}-way task needs ${way}: lower the way or add classes`,
)

export const DataNotEnoughSamples = defineError(
  'FLEETNAS_ERR_DATA_NOT_ENOUGH_SAMPLES',
  400,
  (split: string, eligible: number, way: number, perClass: number) =>
    `only ${eligible} class(es) of the ${split} split have the ${perClass} images (shot + query) a task ` +
    `draws per class, and a ${way}-way task needs ${way}: lower shot/query or add images`,
)

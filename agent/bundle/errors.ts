/** The bundle builder's error catalogue (`npm run bundle:agent`); tests assert the codes. */
import { defineError } from '@fleetnas/shared'

export const BundleOptionsInvalid = defineError(
  'FLEETNAS_ERR_BUNDLE_OPTIONS',
  400,
  (problems: string[]) => `cannot build the agent bundle:\n  - ${problems.join('\n  - ')}`,
)

export const BundlePackageMissing = defineError(
  'FLEETNAS_ERR_BUNDLE_PACKAGE_MISSING',
  500,
  (name: string, from: string) => `package ${name} (needed by ${from}) is not installed in this checkout; run npm ci first`,
)

export const BundleNativeMismatch = defineError(
  'FLEETNAS_ERR_BUNDLE_NATIVE_MISMATCH',
  500,
  (target: string, files: string[]) => `native files that do not run on ${target} would be bundled:\n  - ${files.join('\n  - ')}`,
)

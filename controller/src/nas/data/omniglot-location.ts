/**
 * Where tests and benchmarks find the Omniglot background set: `../shared/datasets/omniglot` beside
 * the repository root, located from this file (not the working directory, so any cwd works). The
 * data is never committed or fetched; what needs it skips, saying where it looked.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** This file sits at controller/src/nas/data/ in the repository. */
const REPO_ROOT = new URL('../../../../', import.meta.url)

export const OMNIGLOT_DIR = fileURLToPath(new URL('../shared/datasets/omniglot/', REPO_ROOT))
export const OMNIGLOT_ZIP = `${OMNIGLOT_DIR}images_background.zip`

/** false when the background set is there, else why not: a skip reason for tap (`{ skip }`). */
export function omniglotAbsent(): false | string {
  if (existsSync(OMNIGLOT_ZIP)) return false
  return `Omniglot not found at ${OMNIGLOT_ZIP}: skipped (put the background set's images_background.zip there to run it)`
}

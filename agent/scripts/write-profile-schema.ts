/** Writes hardware-profiles/profile.schema.json from the TypeBox schema (editor completion). */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_PROFILES_DIR } from '../src/config.ts'
import { profileJsonSchema } from '../src/profiles.ts'

await writeFile(join(DEFAULT_PROFILES_DIR, 'profile.schema.json'), profileJsonSchema())

/**
 * Supernet meta-training configuration: MAML's (maml/config.ts; the zero head is always on, since
 * the head has no shared weights) plus how sub-networks are drawn. Written form mostly optional,
 * resolved form validated once with every problem reported together.
 */
import { isFleetnasError } from '@fleetnas/shared'
import { resolveMamlConfig, type MamlConfig } from '../maml/config.ts'
import { SupernetConfigInvalid } from './errors.ts'

export interface SupernetConfig extends MamlConfig {
  zeroHead: true
  /**
   * Training sub-networks have at most this many times Conv4's MACs and its activation values at
   * the same input (compute-cap.ts; the largest of the sandwich is the heaviest within it); 0 = no
   * cap. Searches ask for networks at or below Conv4's latency, while the space's largest network
   * has about 260 times Conv4's MACs at 28x28; the default 1.5 covers the largest budget with a
   * margin and keeps a meta-batch near Conv4's training time (bench/supernet.ts; at 2 a
   * meta-batch's largest depthwise and mbconv networks took 2.7 and 3.3 times Conv4's task time).
   */
  computeCap: number
  /** Meta-iterations each random sub-network is kept for (its sessions are compiled once for them all). */
  randomReuse: number
  /** Share (0-1) of the random sub-networks drawn a mutation from a uniform network (sandwich.ts). */
  nearUniform: number
}

export const SUPERNET_DEFAULTS = { computeCap: 1.5, randomReuse: 10, nearUniform: 0 } as const

export type SupernetConfigInput = Partial<SupernetConfig> & Pick<SupernetConfig, 'way' | 'shot' | 'query' | 'iterations'>

export function resolveSupernetConfig(c: SupernetConfigInput): SupernetConfig {
  const problems: string[] = []
  let maml: MamlConfig | undefined
  try {
    maml = resolveMamlConfig({ ...c, zeroHead: true })
  } catch (e) {
    if (!isFleetnasError(e, 'FLEETNAS_ERR_MAML_CONFIG')) throw e
    problems.push(...e.message.replace(/^invalid meta-training options: /, '').split('; '))
  }
  if ((c.zeroHead as boolean | undefined) === false) problems.push('zeroHead cannot be false: a supernet has no shared head weights')
  const computeCap = c.computeCap ?? SUPERNET_DEFAULTS.computeCap
  const randomReuse = c.randomReuse ?? SUPERNET_DEFAULTS.randomReuse
  const nearUniform = c.nearUniform ?? SUPERNET_DEFAULTS.nearUniform
  if (!(computeCap >= 0 && Number.isFinite(computeCap))) problems.push(`computeCap must be a finite number >= 0 (0 = no cap), got ${computeCap}`)
  if (!Number.isInteger(randomReuse) || randomReuse < 1) problems.push(`randomReuse must be an integer >= 1, got ${randomReuse}`)
  if (!(nearUniform >= 0 && nearUniform <= 1)) problems.push(`nearUniform must be a share between 0 and 1, got ${nearUniform}`)
  if (c.metaBatch !== undefined && c.metaBatch < 2) problems.push(`metaBatch must be >= 2 (the largest and the smallest sub-network), got ${c.metaBatch}`)
  if (problems.length > 0 || !maml) throw SupernetConfigInvalid(problems)
  return { ...maml, zeroHead: true, computeCap, randomReuse, nearUniform }
}

/**
 * Sub-networks of one supernet by architecture id: the architecture (checked against the space),
 * its Network (blocks and parameter layout for the engine) and its gather/scatter plan, built once
 * and kept in a bounded LRU cache: meta-training asks for the same few sub-networks thousands of
 * times, a search for thousands of different ones.
 */
import { architectureId, checkArchitecture, parseArchitectureId, type Architecture } from '@fleetnas/shared'
import { createNetwork, type Network } from '../engine/engine.ts'
import { LruCache } from '../engine/lru-cache.ts'
import { SubnetNotInSpace } from './errors.ts'
import { subnetPlan, type SubnetPlan } from './subnet-plan.ts'
import type { SupernetLayout } from './supernet-layout.ts'

export interface Subnet {
  arch: Architecture
  net: Network
  plan: SubnetPlan
}

export class SubnetCache {
  private readonly cache: LruCache<string, Subnet>

  /** `classes`: the ways of the tasks the sub-networks run (their zero heads' size). */
  constructor(
    readonly layout: SupernetLayout,
    readonly classes: number,
    capacity = 64,
  ) {
    this.cache = new LruCache(capacity)
  }

  get(arch: Architecture | string): Subnet {
    const id = typeof arch === 'string' ? arch : architectureId(arch)
    let s = this.cache.get(id)
    if (!s) {
      let a: Architecture
      try {
        a = typeof arch === 'string' ? parseArchitectureId(arch, this.layout.space) : checkArchitecture(arch, this.layout.space)
      } catch (e) {
        throw SubnetNotInSpace(id, (e as Error).message.replace(/^invalid specification: /, ''))
      }
      const net = createNetwork(a, { input: this.layout.space.input, classes: this.classes })
      s = { arch: a, net, plan: subnetPlan(this.layout, net) }
      this.cache.set(id, s)
    }
    return s
  }

  get size(): number {
    return this.cache.size
  }
}

/**
 * Latency models per LUT: fitted from the LUT's rows (blocks, the call overhead, architectures
 * measured whole), stored with the data stamp they were fitted on, and refitted when rows change:
 * soon after new measurements land (`scheduleRefit`, from ingest) and, at the latest, when a model
 * is read. Predictions name the blocks the LUT lacks instead of guessing.
 */
import { architectureId, DEFAULT_SPACE, isFleetnasError, parseArchitectureId, type Architecture, type SearchSpace } from '@fleetnas/shared'
import type { Logger } from 'pino'
import type { Store } from '../store/db.ts'
import type { LutScope } from '../store/luts.ts'
import type { StoredLatencyModel } from '../store/latency-models.ts'
import type { LatencyEvents } from '../mqtt/handlers/context.ts'
import { ArchitectureInvalid, LatencyModelNotFound } from '../errors.ts'
import { architectureFeatures } from './features.ts'
import { fitLatencyModel, predictLinear, type LatencyModel } from './fit.ts'
import { calibrationPoints, lutData, type LutData } from './lut-data.ts'

export interface LatencyPrediction {
  id: string
  /** End-to-end latency of one call (ms), or null when the LUT lacks blocks (`missing`). */
  predictedMs: number | null
  /** 95% interval (ms): from held-out errors for a fitted model, from the LUT rows' intervals otherwise. */
  lowMs: number | null
  highMs: number | null
  /** Sum of the blocks' net medians, and the one call overhead the prediction adds. */
  blockSumMs: number | null
  /** Sum of the net medians of the blocks the LUT has (all of them when none is missing): a lower bound. */
  knownBlockSumMs: number
  callOverheadMs: number
  model: 'fitted' | 'block-sum'
  blocks: string[]
  missing: string[]
  /** Blocks faster than the call overhead resolves (counted as 0 ms). */
  belowOverhead: string[]
  /** The LUT's own end-to-end measurement of this architecture, when it has one. */
  measuredMs: number | null
}

export interface LatencyPredictor {
  model: LatencyModelView
  predict(arch: Architecture): LatencyPrediction
}

export interface LatencyModelView extends StoredLatencyModel {
  hardwareProfile: string
  runtime: string
  threads: number
  backend: string
}

const REFIT_DELAY_MS = 1000

/** Predictions from a model over one LUT snapshot. */
export function predictWith(m: LatencyModel, data: LutData, space: Pick<SearchSpace, 'input' | 'classes'>): (arch: Architecture) => LatencyPrediction {
  const lookup = (k: string) => data.blocks.get(k)
  return (arch) => {
    const id = architectureId(arch)
    const f = architectureFeatures(arch, lookup, space)
    const base = {
      id,
      callOverheadMs: m.callOverheadMs,
      model: m.kind,
      blocks: f.blocks,
      missing: f.missing,
      belowOverhead: f.belowOverhead,
      measuredMs: data.architectures.get(id) ?? null,
      knownBlockSumMs: f.blockSumMs,
    }
    if (f.missing.length > 0) return { ...base, predictedMs: null, lowMs: null, highMs: null, blockSumMs: null }
    const predictedMs = predictLinear(m.coefficients, f.values)
    const interval = m.interval
      ? { lowMs: predictedMs * (1 + m.interval.low), highMs: predictedMs * (1 + m.interval.high) }
      : {
          lowMs: f.blockSumLowMs === null ? null : m.callOverheadMs + f.blockSumLowMs,
          highMs: f.blockSumHighMs === null ? null : m.callOverheadMs + f.blockSumHighMs,
        }
    return { ...base, predictedMs, ...interval, blockSumMs: f.blockSumMs }
  }
}

export class LatencyModels implements LatencyEvents {
  private readonly pending = new Map<string, NodeJS.Timeout>()

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly space: SearchSpace = DEFAULT_SPACE,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The LUT's scope (its main backend), or LatencyModelNotFound when there is no such LUT. */
  scope(hardwareProfile: string, runtime: string, threads: number): LutScope {
    const [backend] = this.store.luts.backends(hardwareProfile, runtime, threads)
    if (backend === undefined) throw LatencyModelNotFound(hardwareProfile, runtime, threads)
    return { hardwareProfile, runtime, threads, backend }
  }

  private read(scope: LutScope): LutData {
    const rows = (kind: 'block' | 'architecture' | 'empty') =>
      this.store.luts.entries(scope.hardwareProfile, scope.runtime, scope.threads, kind).filter((r) => r.backend === scope.backend)
    return lutData({ blocks: rows('block'), empties: rows('empty'), architectures: rows('architecture') }, this.space)
  }

  private fit(scope: LutScope, dataStamp: string): StoredLatencyModel {
    const data = this.read(scope)
    const stored: StoredLatencyModel = {
      model: fitLatencyModel(calibrationPoints(data, this.space), data.callOverheadMs),
      dataStamp,
      fittedAt: this.now().toISOString(),
    }
    this.store.latencyModels.put(scope, stored)
    const r = stored.model.report
    this.log.info(
      { ...scope, kind: stored.model.kind, n: stored.model.n, within10: r?.heldOut.within10, within5: r?.heldOut.within5, mape: r?.heldOut.mape },
      'latency model fitted',
    )
    return stored
  }

  /** The LUT's model, refitted first when its rows changed since the last fit. */
  model(hardwareProfile: string, runtime: string, threads: number): LatencyModelView {
    const scope = this.scope(hardwareProfile, runtime, threads)
    return { ...scope, ...this.current(scope) }
  }

  private current(scope: LutScope): StoredLatencyModel {
    const stamp = this.store.luts.dataStamp(scope)
    const stored = this.store.latencyModels.get(scope)
    return stored && stored.dataStamp === stamp ? stored : this.fit(scope, stamp)
  }

  /**
   * Predictions over one snapshot of the LUT and its model, for callers that ask many times (a
   * search ranks thousands of candidates): the LUT is read once here, not per architecture.
   */
  predictor(hardwareProfile: string, runtime: string, threads: number): LatencyPredictor {
    const model = this.model(hardwareProfile, runtime, threads)
    return { model, predict: predictWith(model.model, this.read(model), this.space) }
  }

  predict(hardwareProfile: string, runtime: string, threads: number, ids: readonly string[]): { model: LatencyModelView; predictions: LatencyPrediction[] } {
    const archs = ids.map((id, i) => {
      try {
        return parseArchitectureId(id, this.space)
      } catch (e) {
        if (isFleetnasError(e)) throw ArchitectureInvalid(`architectures/${i}: ${e.message}`)
        throw e
      }
    })
    const { model, predict } = this.predictor(hardwareProfile, runtime, threads)
    return { model, predictions: archs.map(predict) }
  }

  /** Refits the LUT's model shortly (coalescing a burst of batches into one fit). */
  scheduleRefit(scope: LutScope): void {
    const key = JSON.stringify(scope)
    if (this.pending.has(key)) return
    const timer = setTimeout(() => {
      this.pending.delete(key)
      try {
        this.current(scope)
      } catch (err) {
        this.log.warn({ err, ...scope }, 'latency model refit failed')
      }
    }, REFIT_DELAY_MS)
    timer.unref()
    this.pending.set(key, timer)
  }

  stop(): void {
    for (const t of this.pending.values()) clearTimeout(t)
    this.pending.clear()
  }
}

/**
 * Kernel ridge regression with a Gaussian (RBF) kernel on standardised columns: the posterior mean
 * of a Gaussian process with a constant prior mean. Far from every fitted pair a prediction falls
 * back to the pairs' mean, so a search cannot climb to architectures no evaluation has seen by
 * extrapolating (a linear model predicted 106% for a stack of wide mbconv blocks the supernet never
 * trained, and the search chose it). Bandwidth and penalty are chosen by k-fold cross-validation.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix'
import type { Rng } from '@fleetnas/shared'
import { columnStats } from './ridge.ts'

export interface KernelRidgeModel {
  /** Column means and scales the rows were standardised with. */
  mean: number[]
  scale: number[]
  /** The standardised training rows. */
  rows: number[][]
  alpha: number[]
  yMean: number
  /** exp(-gamma * squared distance). */
  gamma: number
}

export interface KernelRidgeSettings {
  /** Bandwidth as a multiple of the median squared distance between training rows. */
  bandwidth: number
  lambda: number
}

function standardise(rows: readonly ArrayLike<number>[]): { mean: number[]; scale: number[]; z: number[][] } {
  const { mean, scale } = columnStats(rows)
  return { mean, scale, z: rows.map((r) => Array.from({ length: mean.length }, (_, j) => (r[j] - mean[j]) / scale[j])) }
}

function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let j = 0; j < a.length; j++) {
    const d = a[j] - b[j]
    s += d * d
  }
  return s
}

function medianSquaredDistance(z: readonly number[][]): number {
  const d: number[] = []
  for (let i = 0; i < z.length; i++) for (let k = i + 1; k < z.length; k++) d.push(squaredDistance(z[i], z[k]))
  d.sort((a, b) => a - b)
  return d[Math.floor(d.length / 2)] || 1
}

export function fitKernelRidge(rows: readonly ArrayLike<number>[], y: readonly number[], s: KernelRidgeSettings): KernelRidgeModel {
  const { mean, scale, z } = standardise(rows)
  const n = z.length
  const gamma = 1 / (s.bandwidth * medianSquaredDistance(z))
  const yMean = y.reduce((a, b) => a + b, 0) / n
  const k = new Matrix(n, n)
  for (let i = 0; i < n; i++) {
    k.set(i, i, 1 + s.lambda * n)
    for (let j = i + 1; j < n; j++) {
      const v = Math.exp(-gamma * squaredDistance(z[i], z[j]))
      k.set(i, j, v)
      k.set(j, i, v)
    }
  }
  const alpha = new CholeskyDecomposition(k).solve(Matrix.columnVector(y.map((v) => v - yMean))).to1DArray()
  return { mean, scale, rows: z, alpha, yMean, gamma }
}

export function predictKernelRidge(m: KernelRidgeModel, x: ArrayLike<number>): number {
  const z = Array.from({ length: m.mean.length }, (_, j) => (x[j] - m.mean[j]) / m.scale[j])
  let y = m.yMean
  for (let i = 0; i < m.rows.length; i++) y += m.alpha[i] * Math.exp(-m.gamma * squaredDistance(z, m.rows[i]))
  return y
}

const BANDWIDTHS = [0.5, 1, 2]
const LAMBDAS = [1e-3, 1e-2, 1e-1]

/** The settings with the least cross-validated squared error, and each pair's held-out prediction under them. */
export function selectKernelRidge(rows: readonly ArrayLike<number>[], y: readonly number[], folds: number, rng: Rng): KernelRidgeSettings & { heldOut: number[] } {
  const fold = rng.shuffle(rows.map((_, i) => i % folds))
  let best = { bandwidth: BANDWIDTHS[0], lambda: LAMBDAS[0], heldOut: [] as number[], sse: Infinity }
  for (const bandwidth of BANDWIDTHS)
    for (const lambda of LAMBDAS) {
      const heldOut = new Array<number>(rows.length)
      for (let f = 0; f < folds; f++) {
        const train = rows.flatMap((_, i) => (fold[i] === f ? [] : [i]))
        const m = fitKernelRidge(train.map((i) => rows[i]), train.map((i) => y[i]), { bandwidth, lambda })
        rows.forEach((r, i) => {
          if (fold[i] === f) heldOut[i] = predictKernelRidge(m, r)
        })
      }
      const sse = heldOut.reduce((s, p, i) => s + (p - y[i]) ** 2, 0)
      if (sse < best.sse) best = { bandwidth, lambda, heldOut, sse }
    }
  return { bandwidth: best.bandwidth, lambda: best.lambda, heldOut: best.heldOut }
}

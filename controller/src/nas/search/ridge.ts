/**
 * Ridge regression on standardised columns (the intercept is not penalised), and the choice of
 * its penalty by k-fold cross-validation. The coefficients come back in the raw feature scale, so
 * a prediction is one dot product.
 */
import { Matrix, solve } from 'ml-matrix'
import type { Rng } from '@fleetnas/shared'

export interface LinearModel {
  coefficients: number[]
  intercept: number
}

export function predictLinearModel(m: LinearModel, x: ArrayLike<number>): number {
  let y = m.intercept
  for (let j = 0; j < m.coefficients.length; j++) y += m.coefficients[j] * x[j]
  return y
}

/** Each column's mean and standard deviation (1 for a constant column), what both fits standardise with. */
export function columnStats(rows: readonly ArrayLike<number>[]): { mean: number[]; scale: number[] } {
  const n = rows.length
  const p = rows[0].length
  const mean = new Array<number>(p).fill(0)
  const scale = new Array<number>(p).fill(0)
  for (const r of rows) for (let j = 0; j < p; j++) mean[j] += r[j] / n
  for (const r of rows) for (let j = 0; j < p; j++) scale[j] += (r[j] - mean[j]) ** 2 / n
  for (let j = 0; j < p; j++) scale[j] = Math.sqrt(scale[j]) || 1
  return { mean, scale }
}

/** Minimises sum (y - Xw - b)^2 + lambda * n * |w|^2 over standardised columns. */
export function fitRidge(rows: readonly ArrayLike<number>[], y: readonly number[], lambda: number): LinearModel {
  const n = rows.length
  const p = rows[0].length
  const { mean, scale } = columnStats(rows)
  const yMean = y.reduce((s, v) => s + v, 0) / n
  const gram = Array.from({ length: p }, () => new Float64Array(p))
  const rhs = new Float64Array(p)
  const z = new Float64Array(p)
  rows.forEach((r, i) => {
    for (let j = 0; j < p; j++) z[j] = (r[j] - mean[j]) / scale[j]
    for (let j = 0; j < p; j++) {
      if (z[j] === 0) continue
      rhs[j] += z[j] * (y[i] - yMean)
      const row = gram[j]
      for (let k = j; k < p; k++) row[k] += z[j] * z[k]
    }
  })
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < j; k++) gram[j][k] = gram[k][j]
    gram[j][j] += lambda * n
  }
  const w = solve(new Matrix(gram.map((r) => Array.from(r))), Matrix.columnVector(Array.from(rhs))).to1DArray()
  const coefficients = w.map((wj, j) => wj / scale[j])
  const intercept = yMean - coefficients.reduce((s, c, j) => s + c * mean[j], 0)
  return { coefficients, intercept }
}

export interface RidgeSelection {
  lambda: number
  /** Each sample predicted by the fit of the folds that left it out, at the chosen lambda. */
  heldOut: number[]
}

/** The lambda of `lambdas` with the least cross-validated squared error. */
export function selectRidge(rows: readonly ArrayLike<number>[], y: readonly number[], lambdas: readonly number[], folds: number, rng: Rng): RidgeSelection {
  const fold = rng.shuffle(rows.map((_, i) => i % folds))
  let best: RidgeSelection & { sse: number } = { lambda: lambdas[0], heldOut: [], sse: Infinity }
  for (const lambda of lambdas) {
    const heldOut = new Array<number>(rows.length)
    for (let f = 0; f < folds; f++) {
      const train = rows.flatMap((_, i) => (fold[i] === f ? [] : [i]))
      const m = fitRidge(train.map((i) => rows[i]), train.map((i) => y[i]), lambda)
      rows.forEach((r, i) => {
        if (fold[i] === f) heldOut[i] = predictLinearModel(m, r)
      })
    }
    const sse = heldOut.reduce((s, p, i) => s + (p - y[i]) ** 2, 0)
    if (sse < best.sse) best = { lambda, heldOut, sse }
  }
  return { lambda: best.lambda, heldOut: best.heldOut }
}

/** Response shapes shared by several routes (errors). Feature schemas live in their plugins. */
import { Type } from '@sinclair/typebox'

export const ErrorSchema = Type.Object(
  { statusCode: Type.Integer(), code: Type.String(), error: Type.String(), message: Type.String() },
  { $id: 'FleetnasError', description: 'Every error answer; `code` is FLEETNAS_ERR_<AREA>_<WHAT>.' },
)
export const ErrorRef = Type.Ref('FleetnasError')
export const errorResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorRef]))

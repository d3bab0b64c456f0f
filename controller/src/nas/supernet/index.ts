/**
 * The supernet over a search space: shared weights keyed by (slot, op, part), sub-networks that
 * take leading channels and kernel centres, sandwich-rule MAML meta-training, and few-shot
 * evaluation of one sub-network with inherited weights (what accuracy estimation and the search call).
 */
export { supernetLayout, initSupernetParams, sharedName, type SupernetLayout, type SharedEntry } from './supernet-layout.ts'
export { subnetPlan, gatherParams, scatterAdd, type SubnetPlan } from './subnet-plan.ts'
export { SubnetCache, type Subnet } from './subnet-cache.ts'
export { SandwichSampler, type SubnetDraw, type SubnetRole, type SandwichOptions } from './sandwich.ts'
export { trainingCost, relativeCost, architectureActivations, conv4Architecture, type TrainingCost } from './compute-cap.ts'
export { resolveSupernetConfig, SUPERNET_DEFAULTS, type SupernetConfig, type SupernetConfigInput } from './config.ts'
export {
  saveSupernetCheckpoint,
  loadSupernetCheckpoint,
  encodeSupernetCheckpoint,
  decodeSupernetCheckpoint,
  type SupernetCheckpoint,
  type SupernetValidation,
} from './checkpoint.ts'
export { supernetMetaTrain, type SupernetTrainOptions, type SupernetProgress, type SupernetValidationOptions } from './meta-train.ts'
export { evaluateSubnet, subnetCheckpoint, subnetsOf, innerLrAt, type SubnetEvalOptions, type SubnetEvalResult } from './evaluate.ts'
export { SupernetConfigInvalid, SupernetSpaceUnsupported, SupernetCheckpointInvalid, SupernetCheckpointMismatch, SubnetNotInSpace } from './errors.ts'

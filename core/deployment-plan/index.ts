/**
 * Deployment plans: the per-assembly document of overrides (user properties, fileRef
 * files, instance counts, synthetic properties, target hosts, NFS mount targets).
 * Pure: building, formatting, parsing and validating; reading and writing files is the
 * caller's job. See docs/assemblies.md for the file format.
 */
export type {
  DeploymentPlan,
  PlanNode,
  PlanNodeKind,
  PlanProperty,
  PlanFileRef,
  PlanInstances,
  PlanSynthetic,
  PlanHost,
  PlanMountTarget,
  SyntheticPropertySpec,
} from './model.js';
export { PLAN_FORMAT_VERSION, PLAN_ROOT, PLAN_NODE_KINDS, SYNTHETIC_PROPERTIES, syntheticSpec } from './model.js';

export type { PlanLookup } from './create.js';
export { createDeploymentPlan, planEntries } from './create.js';

export type { SecretCodec, FormatOptions, ParseOptions } from './xml.js';
export { formatPlan, parsePlan, PlanReader } from './xml.js';
export { MAX_PLAN_BYTES, MAX_PLAN_ELEMENTS, MAX_PLAN_VALUE_CHARS, planTooLarge } from './limits.js';

export type { PlanProblem, ValidateOptions } from './validate.js';
export { validateDeploymentPlan, describePlanProblem } from './validate.js';

export type { ObjectPath, ResolvedObject, PartKind } from './object-path.js';
export { PATH_SEPARATOR, PART_KINDS, formatObjectPath, resolveObjectPath } from './object-path.js';

export { setPlanPassword } from './edit.js';

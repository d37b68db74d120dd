/** Base image and host requirements: Debian versions, the base's facts, evaluation (no I/O). */
export { compareDebianVersions, debianVersionProblem, parseDebianVersion, type DebianVersion } from './debian-version.js';
export { accountNames, parseDpkgQuery, parseDpkgStatus, swapMiBFromMeminfo, sysctlPath, type PackageState } from './facts.js';
export {
  describeRequirement,
  evaluateRequirements,
  formatProblems,
  requirementShapeProblems,
  type BaseFacts,
  type Fact,
  type FixStyle,
  type ProblemSeverity,
  type RequirementProblem,
} from './check.js';

/**
 * Input limits of deployment plan files. A plan mirrors its whole assembly in one file: for
 * 2,000 appliances x 50 properties it is ~15 MB and ~110,000 elements, so these leave
 * several times that; they bound what a hostile or broken file can cost (checked before
 * reading and while streaming, so an oversized plan is refused without being held).
 */
import { UserError } from '../errors.js';

/** Bytes of a plan file; checked before it is read. */
export const MAX_PLAN_BYTES = 64 * 2 ** 20;
/** Elements in one plan. */
export const MAX_PLAN_ELEMENTS = 500_000;
/** Characters of one attribute value or text, and of any token still being read. */
export const MAX_PLAN_VALUE_CHARS = 2 ** 20;

const HINT = 'a plan written by abctl stays far below this; write a fresh one with abctl createDeploymentPlan (limits: docs/assemblies.md, "Input limits")';

export function planTooLarge(bytes: number, where: string): UserError {
  return new UserError('PLAN_TOO_LARGE', `the plan file is ${bytes} bytes; a plan may hold at most ${MAX_PLAN_BYTES} bytes (64 MiB)`, { where, hint: HINT });
}

export function planTooManyElements(where: string): UserError {
  return new UserError('PLAN_TOO_LARGE', `the plan has more than ${MAX_PLAN_ELEMENTS} elements, the limit for one plan`, { where, hint: HINT });
}

export function planValueTooLong(what: string, where: string): UserError {
  return new UserError('PLAN_TOO_LARGE', `${what} is longer than ${MAX_PLAN_VALUE_CHARS} characters (1 Mi), the limit for one value in a plan`, { where, hint: HINT });
}

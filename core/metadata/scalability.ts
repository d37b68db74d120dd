/**
 * How many instances of an appliance may run. `target` is what a deployment starts
 * with; `min`/`max` bound later scaling; `absoluteMax` caps `max`.
 *
 * Choices: `min` may be 0 (an operator may scale a tier down to nothing after
 * deployment), but `target` is at least 1, because deploying zero instances of an
 * appliance would deploy nothing. All four are whole numbers.
 */
import { UserError } from '../errors.js';
import { asObject, readNumber } from './plain.js';

/** Largest absolute maximum the deployment tooling supports. */
export const MAX_INSTANCES = 2000;

export interface Scalability {
  readonly min: number;
  readonly target: number;
  readonly max: number;
  readonly absoluteMax: number;
}

/** A single, non-scalable instance. */
export const SINGLE_INSTANCE: Scalability = Object.freeze({ min: 1, target: 1, max: 1, absoluteMax: 1 });

/**
 * Checks min <= target <= max <= absoluteMax <= 2000, min >= 0, target >= 1, and returns
 * a frozen copy. `where` names the owning appliance in errors.
 */
export function checkScalability(s: Scalability, where?: string): Scalability {
  const hint = `scalability needs 0 <= min <= target <= max <= absoluteMax <= ${MAX_INSTANCES}, target >= 1`;
  for (const field of ['min', 'target', 'max', 'absoluteMax'] as const) {
    const v = s[field];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new UserError('SCALABILITY_BOUNDS', `scalability ${field} must be a whole number, got ${String(v)}`, { where, hint });
    }
  }
  const fail = (rule: string) =>
    new UserError('SCALABILITY_BOUNDS', `scalability {min ${s.min}, target ${s.target}, max ${s.max}, absoluteMax ${s.absoluteMax}} breaks the rule ${rule}`, { where, hint });
  if (s.min < 0) throw fail('min >= 0');
  if (s.target < 1) throw fail('target >= 1');
  if (s.min > s.target) throw fail('min <= target');
  if (s.target > s.max) throw fail('target <= max');
  if (s.max > s.absoluteMax) throw fail('max <= absoluteMax');
  if (s.absoluteMax > MAX_INSTANCES) throw fail(`absoluteMax <= ${MAX_INSTANCES}`);
  return Object.freeze({ min: s.min, target: s.target, max: s.max, absoluteMax: s.absoluteMax });
}

/** Clustered (scalable) means more than one instance may exist: max > 1. */
export function isClusteredScalability(s: Scalability): boolean {
  return s.max > 1;
}

export function scalabilityFromPlain(value: unknown, where?: string): Scalability {
  const o = asObject(value, 'scalability', where);
  return checkScalability(
    { min: readNumber(o, 'min', where), target: readNumber(o, 'target', where), max: readNumber(o, 'max', where), absoluteMax: readNumber(o, 'absoluteMax', where) },
    where,
  );
}

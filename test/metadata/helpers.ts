import { expect } from 'vitest';
import { UserError } from '../../core/errors.js';

/** Runs fn, expects a UserError with `code`, returns it for further checks. */
export function expectUserError(fn: () => unknown, code: string): UserError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected UserError ${code}`).toBeInstanceOf(UserError);
  const e = caught as UserError;
  expect(e.code).toBe(code);
  return e;
}

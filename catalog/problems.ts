/** How catalog failures are worded: per-file problems for listings, errors naming the file. */
import { AbError, UserError, environmentError } from '../core/errors.js';
import type { CatalogProblem } from './types.js';

export function problemOf(err: unknown, file: string): CatalogProblem {
  const known = err instanceof AbError ? err : environmentError(err, file);
  if (known) return { file: known.where ?? file, code: known.code, message: known.message, ...(known.hint ? { hint: known.hint } : {}) };
  return { file, code: 'CATALOG_READ_FAILED', message: err instanceof Error ? err.message : String(err) };
}

/** Re-labels an error from the model with the file it was read from. */
export function blameFile(err: unknown, file: string): unknown {
  if (err instanceof UserError && !(err.where ?? '').startsWith(file)) {
    return new UserError(err.code, err.message, { where: err.where ? `${file}: ${err.where}` : file, hint: err.hint, cause: err.cause });
  }
  return err;
}

export function notFound(what: string, name: string, where: string): UserError {
  return new UserError('CATALOG_NOT_FOUND', `there is no ${what} "${name}" in the catalog`, { where, hint: 'see the catalog contents with describe' });
}

/**
 * A failure that belongs to one file (a damaged document, a file that cannot be read): the
 * callers that skip or list such files must still let a bug (TypeError, ...) through.
 */
export function isFileProblem(err: unknown): boolean {
  if (err instanceof AbError) return true;
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string';
}

/**
 * Checks for paths that must stay inside a directory (file set excludes, content
 * resource locations in the catalog): relative, no `..` that could climb out.
 */
import { UserError } from '../errors.js';

/**
 * Returns the path without a trailing `/` (which some people write to mean "directory")
 * or throws naming `what` and the rule broken.
 */
export function checkRelativePath(what: string, path: string, where?: string): string {
  const hint = 'give a path relative to its root, e.g. "logs/*.log", without ".." or a leading "/"';
  if (path.length === 0) throw new UserError('PATH_INVALID', `${what} must not be empty`, { where, hint });
  if (path.includes('\0')) throw new UserError('PATH_INVALID', `${what} "${path}" contains a NUL character`, { where, hint });
  if (path.startsWith('/')) {
    throw new UserError('PATH_INVALID', `${what} "${path}" must be relative (it starts with "/")`, { where, hint });
  }
  const trimmed = path.replace(/\/+$/, '');
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (segment === '..') {
      throw new UserError('PATH_INVALID', `${what} "${path}" must not contain ".." segments`, { where, hint });
    }
    if (segment === '' || segment === '.') {
      throw new UserError('PATH_INVALID', `${what} "${path}" has an empty or "." segment`, { where, hint });
    }
  }
  return trimmed;
}

/** Absolute POSIX path without `.`/`..` segments; a trailing `/` is dropped (except for "/"). */
export function checkAbsolutePath(what: string, path: string, where?: string): string {
  const hint = 'give an absolute path such as /opt/product';
  if (!path.startsWith('/')) throw new UserError('PATH_INVALID', `${what} "${path}" must be an absolute path`, { where, hint });
  if (path.includes('\0')) throw new UserError('PATH_INVALID', `${what} "${path}" contains a NUL character`, { where, hint });
  if (path === '/') return path;
  const trimmed = path.replace(/\/+$/, '');
  for (const segment of trimmed.split('/').slice(1)) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new UserError('PATH_INVALID', `${what} "${path}" must be normalized (no empty, "." or ".." segments)`, { where, hint });
    }
  }
  return trimmed;
}

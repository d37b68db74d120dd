/**
 * Error locations for metadata: a path of labelled objects such as
 * `assembly "A" > appliance "web" > property "port"`. Each object labels its own errors;
 * a container adds its label in front when it builds or changes a child, so the full
 * path appears without any object knowing its parents.
 */
import { UserError } from '../errors.js';

export const WHERE_SEPARATOR = ' > ';

/** `appliance "web"`. */
export function label(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

/** Joins path parts, skipping empty ones. */
export function joinWhere(...parts: (string | undefined)[]): string | undefined {
  const kept = parts.filter((p): p is string => p !== undefined && p !== '');
  return kept.length === 0 ? undefined : kept.join(WHERE_SEPARATOR);
}

/** Runs `fn`; a UserError escaping it gets `prefix` put in front of its `where`. */
export function within<T>(prefix: string | undefined, fn: () => T): T {
  if (prefix === undefined) return fn();
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) {
      throw new UserError(err.code, err.message, {
        where: joinWhere(prefix, err.where),
        hint: err.hint,
        cause: err.cause,
      });
    }
    throw err;
  }
}

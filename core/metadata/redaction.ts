/**
 * How secrets look whenever metadata is shown rather than stored: every password value
 * becomes this mask, whatever its length, so not even the length leaks.
 */
export const REDACTED = '********';

/** Key Node's util.inspect looks for; using the registered symbol avoids importing node:util. */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

import { AbError, PluginError, environmentError, errorText } from '../core/errors.js';

/**
 * Prints an error for a person and picks the exit code: 1 for anything a user or a plugin
 * author can act on, 2 for a framework bug (with the stack only under --debug).
 */
export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof PluginError) {
    process.stderr.write(`error in plugin ${err.plugin}: ${errorText(err)}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
  const user = err instanceof AbError ? err : environmentError(err);
  if (user) {
    process.stderr.write(`error: ${errorText(user)}\n`);
    return 1;
  }
  process.stderr.write(`internal error: ${errorText(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('  (this is a bug in abctl; run again with --debug for the stack trace and report it)\n');
  return 2;
}

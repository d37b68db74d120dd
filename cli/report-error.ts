import { CommanderError } from 'commander';
import { AbError, PluginError, environmentError, errorText } from '../core/errors.js';
import type { PluginMessages } from '../core/plugin-contract.js';
import { abctlMessages } from '../services/messages/abctl-messages.js';
import { actualSystemError } from './system-errors.js';

export interface ErrorContext {
  readonly debug: boolean;
  /** The command was asked for JSON: the error goes to stdout as JSON too. */
  readonly json: boolean;
  /** --instance, to name where a write without a path (ENOSPC) failed. */
  readonly instance: string | undefined;
  /** The command that failed, for the usage hint. */
  readonly command?: string | undefined;
}

/** What `--json` prints on failure, inside `{"error": ...}`. */
export interface ErrorObject {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly where?: string;
  readonly plugin?: string;
}

/**
 * Prints an error for a person (stderr) and, under --json, for a program (stdout), and picks
 * the exit code: 1 for anything a user or a plugin author can act on, 2 for a framework bug
 * (with the stack only under --debug).
 */
export async function reportError(err: unknown, ctx: ErrorContext): Promise<number> {
  // The frame of the report is abctl's own text, in the user's locale (messages/*.properties).
  const m = abctlMessages();
  if (err instanceof CommanderError) {
    // Help and --version end this way too; for a usage error commander has printed the text.
    if (err.exitCode !== 0 && ctx.json) printError(usageError(err, ctx.command, m));
    return err.exitCode;
  }
  const known = await userErrorOf(err, ctx.instance);
  const bugHint = m.format('cli.error.bug');
  if (known instanceof PluginError) {
    process.stderr.write(`${m.format('cli.error.plugin', known.plugin, describe(known, m))}\n`);
    if (ctx.debug && known.stack) process.stderr.write(`${known.stack}\n`);
  } else if (known) {
    process.stderr.write(`${m.format('cli.error', describe(known, m))}\n`);
  } else {
    process.stderr.write(`${m.format('cli.error.internal', errorText(err))}\n`);
    if (ctx.debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write(`  (${bugHint})\n`);
  }
  if (ctx.json) {
    printError(
      known
        ? {
            code: known.code,
            message: known.message,
            ...(known.hint !== undefined ? { hint: known.hint } : {}),
            ...(known.where !== undefined ? { where: known.where } : {}),
            ...(known instanceof PluginError ? { plugin: known.plugin } : {}),
          }
        : { code: 'INTERNAL_ERROR', message: errorText(err), hint: bugHint },
    );
  }
  // Ctrl-C ends a job with JOB_INTERRUPTED; 130 is what a shell reports for SIGINT.
  return known ? (known.code === 'JOB_INTERRUPTED' ? 130 : 1) : 2;
}

/** AbError.describe() with the hint's label in the user's language. */
function describe(err: AbError, m: PluginMessages): string {
  const head = err.where ? `${err.where}: ${err.message}` : err.message;
  return err.hint ? `${head}\n  ${m.format('cli.error.hint', err.hint)}` : head;
}

/** The error as something the user can act on, if it is one (undefined: a bug in abctl). */
async function userErrorOf(err: unknown, instance: string | undefined): Promise<AbError | undefined> {
  if (err instanceof AbError) {
    // Made from Node's errno elsewhere, it may repeat the misleading ENOENT of a recursive mkdir.
    if (err.code !== 'ENV_ENOENT' || err.cause === undefined) return err;
    const actual = await actualSystemError(err.cause);
    return actual === err.cause ? err : (environmentError(actual, err.where) ?? err);
  }
  // A write that fails for lack of space names no file; the instance directory is where abctl writes.
  return environmentError(await actualSystemError(err), await instanceDir(instance));
}

function printError(error: ErrorObject): void {
  process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
}

/** commander's `error: unknown option '--x'\n(Did you mean --y?)` as an error object. */
function usageError(err: CommanderError, command: string | undefined, m: PluginMessages): ErrorObject {
  const [message = '', ...rest] = err.message.replace(/^error: /, '').split('\n');
  const suggestion = rest.join(' ').replace(/^\((.*)\)$/, '$1').trim();
  return {
    code: `USAGE_${err.code.replace(/^commander\./, '').replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
    message,
    hint: suggestion || (command ? m.format('cli.usage.hint', command) : m.format('cli.usage.hint.noCommand')),
  };
}

async function instanceDir(flag: string | undefined): Promise<string> {
  const { resolveInstanceDir } = await import('../services/instance.js');
  return resolveInstanceDir(flag);
}

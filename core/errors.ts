import type { ErrorCode, PluginCode } from './error-codes.js';

export { ErrorCodes, pluginCode } from './error-codes.js';
export type { ErrorCode, PluginCode } from './error-codes.js';

/**
 * Error tiers, after the Delphix SDK's split: a user can fix a UserError (exit 1);
 * a PluginError is a bug or failure inside a plugin (exit 1, names the plugin);
 * anything else is a framework bug and is reported as an internal error (exit 2).
 */
export class AbError extends Error {
  /** Stable machine-readable code from core/error-codes.ts (or a plugin's own), e.g. `PLUGIN_CONFIG_INVALID`. */
  readonly code: ErrorCode | PluginCode;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** Where it happened: a file, `file:line`, a plugin or object name. */
  readonly where: string | undefined;

  constructor(code: ErrorCode | PluginCode, message: string, opts: { hint?: string; where?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.where = opts.where;
  }

  /** One line a person reads first: where, what; then the hint on its own line. */
  describe(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    return this.hint ? `${head}\n  hint: ${this.hint}` : head;
  }
}

/** Bad input, bad state or a refused operation: the user can fix it. */
export class UserError extends AbError {
  constructor(code: ErrorCode | PluginCode, message: string, opts: { hint?: string; where?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** A plugin failed (threw, broke its contract). */
export class PluginError extends AbError {
  readonly plugin: string;
  constructor(plugin: string, code: ErrorCode | PluginCode, message: string, opts: { hint?: string; where?: string; cause?: unknown } = {}) {
    super(code, message, opts);
    this.plugin = plugin;
  }
}

/** Render any thrown value as text, keeping `cause` chains short and readable. */
export function errorText(err: unknown): string {
  if (err instanceof AbError) return err.describe();
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** errno codes that describe the machine (permissions, space, paths), not a bug in abctl. */
const ENVIRONMENT_CODES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory, a file was expected',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

const ENVIRONMENT_HINTS: Readonly<Record<string, string>> = {
  EACCES: 'check the owner and mode of that path, or run abctl as a user who may write there',
  EPERM: 'check the owner and mode of that path, or run abctl as a user who may write there',
  EROFS: 'use an instance directory on a writable file system (--instance DIR or AB_INSTANCE)',
  ENOSPC: 'free some space on that file system, or use an instance directory elsewhere (--instance DIR)',
  EDQUOT: 'free some space within your quota, or use an instance directory elsewhere (--instance DIR)',
  ENOTDIR: 'the instance directory (--instance, AB_INSTANCE) and the paths you give must be directories',
  EMFILE: 'raise the open-file limit (ulimit -n) and try again',
  ENFILE: 'close other programs or raise the system-wide open-file limit, then try again',
};

/**
 * A Node system error caused by the environment (permissions, full disk, a file where a
 * directory belongs) as a UserError naming the path; undefined for anything else. `path` names
 * the file when the error itself does not (a failed write reports ENOSPC without a path).
 */
export function environmentError(err: unknown, path?: string): UserError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException;
  const what = typeof e.code === 'string' ? ENVIRONMENT_CODES[e.code] : undefined;
  if (!what || typeof e.syscall !== 'string') return undefined;
  const where = e.path ?? path;
  const hint = ENVIRONMENT_HINTS[e.code!];
  return new UserError(`ENV_${e.code!}`, `${what} (${e.syscall})`, {
    ...(where ? { where } : {}),
    ...(hint ? { hint } : {}),
    cause: err,
  });
}

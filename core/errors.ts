/**
 * Error tiers, after the Delphix SDK's split: a user can fix a UserError (exit 1);
 * a PluginError is a bug or failure inside a plugin (exit 1, names the plugin);
 * anything else is a framework bug and is reported as an internal error (exit 2).
 */
export class AbError extends Error {
  /** Stable machine-readable code, e.g. `PLUGIN_CONFIG_INVALID`. */
  readonly code: string;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** Where it happened: a file, `file:line`, a plugin or object name. */
  readonly where: string | undefined;

  constructor(code: string, message: string, opts: { hint?: string; where?: string; cause?: unknown } = {}) {
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
export class UserError extends AbError {}

/** A plugin failed (threw, broke its contract). */
export class PluginError extends AbError {
  readonly plugin: string;
  constructor(plugin: string, code: string, message: string, opts: { hint?: string; where?: string; cause?: unknown } = {}) {
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

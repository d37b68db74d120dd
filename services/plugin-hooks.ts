import { PluginError, UserError, errorText, pluginCode } from '../core/errors.js';
import { hookShape } from '../core/hook-shapes.js';
import { fallbackText, formatMessage } from '../core/messages.js';
import type { MessageArgument } from '../core/plugin-contract.js';
import { pluginMessages } from './messages/plugin-messages.js';

/**
 * The one policy for calling into a plugin: every hook (activator start/stop, locator, discovery,
 * dehydrate, validation, rehydrate, start, stop, ping) goes through `callHook`, which
 *  - bounds the call by a time limit (an unsettled promise becomes an error naming plugin and hook,
 *    instead of the process exiting 0 when the event loop drains),
 *  - stops waiting at once when the job's AbortSignal fires (Ctrl-C),
 *  - reports anything the plugin throws as that plugin's error (`asPluginError`).
 */

/** Default time limit of one hook call; `AB_HOOK_TIMEOUT_MS` overrides it for every hook. */
export const DEFAULT_HOOK_TIMEOUT_MS = 300_000;

/** The limit in force: an explicit value, else `AB_HOOK_TIMEOUT_MS`, else the default. */
export function hookTimeoutMs(explicit?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return explicit;
  const raw = env.AB_HOOK_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_HOOK_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new UserError('HOOK_TIMEOUT_INVALID', `AB_HOOK_TIMEOUT_MS must be a positive whole number of milliseconds, not "${raw}"`, {
      hint: 'unset it to use the default (300000 ms), or give e.g. AB_HOOK_TIMEOUT_MS=600000',
    });
  }
  return ms;
}

export interface HookCall {
  /** The plugin or extension whose code runs. */
  readonly plugin: string;
  /** The hook's name as the contract spells it, e.g. `dehydrate`. */
  readonly hook: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Raised when the job's signal fires while a hook runs; the CLI reports it and exits 130.
 * `outcome` tells the user what was left behind (e.g. "nothing was stored").
 */
export class JobInterrupted extends UserError {
  constructor(what: string, cause?: unknown, outcome?: string) {
    super('JOB_INTERRUPTED', `${what} interrupted${outcome ? `; ${outcome}` : ''}`, cause === undefined ? {} : { cause });
  }
}

/**
 * Calls `fn` under the policy above. A synchronous throw is wrapped like a rejection; a
 * synchronous result costs no timer.
 */
export function callHook<T>(call: HookCall, fn: () => T | PromiseLike<T>): Promise<T> {
  if (call.signal?.aborted) return Promise.reject(new JobInterrupted(`${call.plugin}: ${call.hook}`, call.signal.reason));
  let result: T | PromiseLike<T>;
  try {
    result = fn();
  } catch (err) {
    return Promise.reject(asPluginError(call.plugin, call.hook, err));
  }
  if (!isThenable(result)) {
    const malformed = shapeError(call, result);
    return malformed ? Promise.reject(malformed) : Promise.resolve(result);
  }
  const ms = hookTimeoutMs(call.timeoutMs);
  const pending = result;
  return new Promise<T>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      finish();
      reject(new JobInterrupted(`${call.plugin}: ${call.hook}`, call.signal?.reason));
    };
    // A ref'd timer also keeps the process alive, so a promise that never settles ends here.
    const timer = setTimeout(() => {
      finish();
      reject(
        new PluginError(call.plugin, 'HOOK_TIMEOUT', `${call.hook}() of ${call.plugin} did not finish within ${ms} ms`, {
          hint: `fix the plugin, or allow more time with AB_HOOK_TIMEOUT_MS (milliseconds; default ${DEFAULT_HOOK_TIMEOUT_MS})`,
        }),
      );
    }, ms);
    call.signal?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        finish();
        const malformed = shapeError(call, value);
        if (malformed) reject(malformed);
        else resolve(value);
      },
      (err: unknown) => {
        finish();
        reject(asPluginError(call.plugin, call.hook, err));
      },
    );
  });
}

/** `callHook` for a hook that must be synchronous (e.g. a getter of definitions). */
export function callHookSync<T>(call: Pick<HookCall, 'plugin' | 'hook'>, fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (err) {
    throw asPluginError(call.plugin, call.hook, err);
  }
  const malformed = shapeError(call, result);
  if (malformed) throw malformed;
  return result;
}

/**
 * A result that is not what the hook's contract documents (core/hook-shapes.ts) is the plugin's
 * mistake: said here, with the shape expected, instead of failing later inside abctl.
 */
function shapeError(call: Pick<HookCall, 'plugin' | 'hook'>, value: unknown): PluginError | undefined {
  const shape = hookShape(call.hook);
  const why = shape?.check(value);
  if (shape === undefined || why === undefined) return undefined;
  return new PluginError(call.plugin, 'HOOK_RESULT_INVALID', `${call.hook}() of ${call.plugin} must return ${shape.expected}: ${why}`, {
    hint: `fix ${call.hook}() in plugin ${call.plugin} (docs/plugin-contract.md describes what it returns)`,
  });
}

/**
 * How a plugin's throw is reported: a PluginError or an interruption passes through; any Error
 * carrying a string `code` (or `id`: a user error a plugin raises, `Object.assign(new Error(...),
 * { id, args, hint })`, since plain-JS plugins cannot import our classes) keeps its code, hint and
 * where as that plugin's error; a Node system error or anything else becomes `PLUGIN_FAILED`
 * naming the hook. An `id` is looked up in the plugin's messages (the user's locale, then
 * English); when none has it, the error's own text stands, `{n}` filled from `args`, else the id.
 */
export function asPluginError(plugin: string, hook: string, err: unknown): Error {
  if (err instanceof PluginError || err instanceof JobInterrupted) return err;
  const e = err as { code?: unknown; id?: unknown; args?: unknown; hint?: unknown; where?: unknown; syscall?: unknown };
  const id = typeof e?.id === 'string' ? e.id : undefined;
  const code = typeof e?.code === 'string' ? e.code : id;
  if (err instanceof Error && code !== undefined && !e.syscall) {
    const args = (Array.isArray(e.args) ? e.args : []) as MessageArgument[];
    const messages = id === undefined ? undefined : pluginMessages(plugin);
    const message = messages?.has(id!) ? messages.format(id!, ...args) : err.message !== '' ? formatMessage(err.message, args) : fallbackText(id ?? code, args);
    const hint = typeof e.hint !== 'string' ? undefined : messages?.has(e.hint) ? messages.format(e.hint, ...args) : e.hint;
    return new PluginError(plugin, pluginCode(code), message, {
      ...(hint !== undefined ? { hint } : {}),
      ...(typeof e.where === 'string' ? { where: e.where } : {}),
      cause: err,
    });
  }
  return new PluginError(plugin, 'PLUGIN_FAILED', `${hook} failed: ${errorText(err)}`, { cause: err });
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

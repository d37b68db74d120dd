/**
 * Loading a plugin's entry module and finding its activators. Loading runs plugin code, so it
 * goes through the hook policy (time limit, errors as the plugin's); an entry module whose
 * real path leaves the plugin directory is refused before anything is imported.
 */
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AbError, PluginError, errorText } from '../../core/errors.js';
import type { PluginProblem, PluginRecord } from '../../core/plugin-model.js';
import { callHook } from '../plugin-hooks.js';
import { importModule } from '../module-import.js';

/** Problem codes activation adds to a plugin. */
export const ActivationProblemCode = Object.freeze({
  /** The entry module is missing, has a syntax error, threw or hung while being imported. */
  LoadFailed: 'PLUGIN_LOAD_FAILED',
  /** The entry module's real path (after symbolic links) is outside the plugin directory. */
  EntryOutside: 'PLUGIN_ENTRY_OUTSIDE',
  /** The entry module imported but exports nothing with a `start` method. */
  NoActivator: 'PLUGIN_NO_ACTIVATOR',
  /** An activator could not be constructed, or its `start` threw, rejected or timed out. */
  StartFailed: 'PLUGIN_START_FAILED',
  /** Loading or starting timed out in an earlier command, and the plugin has not changed since. */
  HungBefore: 'PLUGIN_HUNG_BEFORE',
  /** An ancestor (parent, grandparent, ...) is broken, so this extension was not started. */
  ParentBroken: 'PARENT_BROKEN',
});
export type ActivationProblemCode = (typeof ActivationProblemCode)[keyof typeof ActivationProblemCode];

/** What loading an entry module produced; never a rejection, so awaiting it needs no try. */
export type LoadedEntry =
  | { readonly ok: true; readonly entry: string; readonly exports: Readonly<Record<string, unknown>> }
  /** `timedOut`: the import did not settle within the limit (worth remembering). */
  | { readonly ok: false; readonly entry: string; readonly problem: PluginProblem; readonly timedOut: boolean };

/** An export that looks like an activator; classes are constructed only when the plugin starts. */
export interface ActivatorCandidate {
  readonly exportName: string;
  readonly value: object;
  readonly isClass: boolean;
}

export function entryOf(record: PluginRecord): string {
  return path.join(record.directory, record.manifest?.main ?? 'index.js');
}

export function pluginKind(record: PluginRecord): string {
  return record.parentName === undefined ? 'plugin' : 'extension';
}

export async function loadEntry(record: PluginRecord, timeoutMs: number): Promise<LoadedEntry> {
  const entry = entryOf(record);
  const real = await realEntry(record.directory, entry);
  if (real.outside !== undefined) {
    return {
      ok: false,
      entry,
      timedOut: false,
      problem: {
        code: ActivationProblemCode.EntryOutside,
        message: `${pluginKind(record)} "${record.name}": entry module ${entry} leads to ${real.outside}, outside the plugin directory ${record.directory}`,
        where: entry,
        hint: 'a plugin runs only code inside its own directory: put the module there (a copy, not a symbolic link), and reinstall the plugin',
      },
    };
  }
  try {
    const exports = await callHook({ plugin: record.name, hook: 'import', timeoutMs }, () => importModule<Record<string, unknown>>(pathToFileURL(real.path).href));
    return { ok: true, entry, exports };
  } catch (wrapped) {
    const timedOut = wrapped instanceof PluginError && wrapped.code === 'HOOK_TIMEOUT';
    // callHook wraps what the import threw; the original says which file and line.
    const error = !timedOut && wrapped instanceof Error && wrapped.cause !== undefined ? wrapped.cause : wrapped;
    const location = isSyntaxError(error) ? await syntaxErrorLocation(entry) : undefined;
    return { ok: false, entry, timedOut, problem: loadProblem(record, entry, error, location) };
  }
}

/**
 * The path to import, and where it really leads when that is outside the plugin directory
 * (compared after resolving links on both sides: a plugin directory may itself be a link).
 * When the path cannot be resolved, the import reports why.
 */
async function realEntry(directory: string, entry: string): Promise<{ path: string; outside?: string }> {
  let realDir: string;
  let real: string;
  try {
    [realDir, real] = await Promise.all([realpath(directory), realpath(entry)]);
  } catch {
    return { path: entry };
  }
  const rel = path.relative(realDir, real);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return { path: entry, outside: real };
  // Import the resolved file: the link cannot be swapped between this check and the import.
  return { path: real };
}

function isSyntaxError(error: unknown): boolean {
  // By name, not instanceof: the error may come from another realm (test runners, vm).
  return error instanceof Error && error.name === 'SyntaxError';
}

/**
 * Node's ESM loader drops the file and line of a syntax error (it only prints them for an
 * uncaught one), so ask `node --check`, which prints `file:line` first. Only runs for a broken
 * module; undefined when the error is in a module the entry imports, or the check fails.
 */
function syntaxErrorLocation(entry: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--check', entry], { timeout: 10_000, windowsHide: true }, (error, _stdout, stderr) => {
      if (error === null) return resolve(undefined);
      const at = /^(.+):(\d+)$/m.exec(String(stderr));
      resolve(at === null ? undefined : `${at[1]}:${at[2]}`);
    });
  });
}

function loadProblem(record: PluginRecord, entry: string, error: unknown, location: string | undefined): PluginProblem {
  const missing = (error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND' && errorText(error).includes(entry);
  return {
    code: ActivationProblemCode.LoadFailed,
    message: missing
      ? `${pluginKind(record)} "${record.name}": entry module ${entry} does not exist`
      : `${pluginKind(record)} "${record.name}" could not load ${entry}: ${loadCause(error, entry, location)}`,
    where: entry,
    hint: missing ? 'check "main" in plugin.config (default index.js)' : 'fix the module; the plugin stays broken until it imports cleanly',
  };
}

/** The cause in one line; a syntax error says where, in the entry itself or in a module it imports. */
function loadCause(error: unknown, entry: string, location: string | undefined): string {
  // An AbError's hint would make a second line; the problem carries its own hint.
  const text = error instanceof AbError ? error.message : errorText(error);
  if (!isSyntaxError(error)) return text;
  if (location === undefined) return `SyntaxError: ${text}`;
  const line = location.slice(location.lastIndexOf(':') + 1);
  const file = location.slice(0, location.lastIndexOf(':'));
  return `SyntaxError at ${file === entry ? `line ${line}` : location}: ${text}`;
}

/** Default and named exports that have `start` (objects) or `prototype.start` (classes), each once. */
export function findActivators(exports: Readonly<Record<string, unknown>>): ActivatorCandidate[] {
  const seen = new Set<unknown>();
  const found: ActivatorCandidate[] = [];
  // Default first so its activator starts first; the rest in the namespace's (alphabetical) order.
  const names = Object.keys(exports).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : 0));
  for (const exportName of names) {
    const value = exports[exportName];
    if (value === null || seen.has(value)) continue;
    if (typeof value === 'function') {
      const proto: unknown = (value as { prototype?: unknown }).prototype;
      if (proto !== null && typeof proto === 'object' && typeof (proto as { start?: unknown }).start === 'function') {
        seen.add(value);
        found.push({ exportName, value, isClass: true });
      }
    } else if (typeof value === 'object' && typeof (value as { start?: unknown }).start === 'function') {
      seen.add(value);
      found.push({ exportName, value, isClass: false });
    }
  }
  return found;
}

export function describeExport(candidate: ActivatorCandidate): string {
  const className = candidate.isClass ? (candidate.value as { name?: unknown }).name : undefined;
  const label = typeof className === 'string' && className !== '' && className !== candidate.exportName ? ` (class ${className})` : '';
  return `"${candidate.exportName}"${label}`;
}

import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { inject, injectable } from 'inversify';
import { PluginError, errorText } from '../../core/errors.js';
import type {
  Collector,
  PluginIdentity,
  PluginLogger,
  RegisterOptions,
  ServiceActivator,
  ServiceContext,
  ServiceRegistration,
} from '../../core/plugin-contract.js';
import type { PluginInventory, PluginProblem, PluginRecord } from '../../core/plugin-model.js';
import { ServiceIds, type ServiceIdLike } from '../../core/service-ids.js';
import { ServiceRegistry } from './service-registry.js';

/** Problem codes this service adds to `PluginRecord.problems`. */
export const ActivationProblemCode = Object.freeze({
  /** The entry module is missing, has a syntax error, or threw while being imported. */
  LoadFailed: 'PLUGIN_LOAD_FAILED',
  /** The entry module imported but exports nothing with a `start` method. */
  NoActivator: 'PLUGIN_NO_ACTIVATOR',
  /** An activator could not be constructed, or its `start` threw, rejected or timed out. */
  StartFailed: 'PLUGIN_START_FAILED',
  /** An ancestor (parent, grandparent, ...) is broken, so this extension was not started. */
  ParentBroken: 'PARENT_BROKEN',
});
export type ActivationProblemCode = (typeof ActivationProblemCode)[keyof typeof ActivationProblemCode];

export interface ActivationOptions {
  /** Where plugin log lines go, one line per call without the newline; default: stderr. */
  readonly logSink?: (line: string) => void;
  /** Whether `log.debug` lines are written; default false. */
  readonly debug?: boolean;
  /** Longest an async `start` (and later `stop`) may take before it counts as failed; default 60 000 ms. */
  readonly timeoutMs?: number;
  /** Called once per plugin when its activation ends, either way. */
  readonly onTiming?: (timing: PluginActivationTiming) => void;
}

export interface PluginActivationTiming {
  readonly plugin: string;
  /** From requesting the import to the module being evaluated (imports overlap, so these do not add up). */
  readonly importMs: number;
  /** Running this plugin's activators' `start` (0 when it never got that far). */
  readonly startMs: number;
  readonly outcome: 'active' | 'broken';
}

export interface ActivationResult {
  /** Plugins whose activators all started, in the order they finished. */
  readonly active: readonly string[];
  /** Plugins this call marked broken (their own failure or PARENT_BROKEN), sorted by name. */
  readonly broken: readonly string[];
  readonly timings: readonly PluginActivationTiming[];
}

export interface StopFailure {
  readonly plugin: string;
  readonly message: string;
  readonly error: unknown;
}

const DEFAULT_TIMEOUT_MS = 60_000;

const writeStderr = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** What importing an entry module produced; never a rejection, so awaiting it needs no try. */
type Loaded =
  | { readonly ok: true; readonly entry: string; readonly exports: Readonly<Record<string, unknown>>; readonly importMs: number }
  | {
      readonly ok: false;
      readonly entry: string;
      readonly error: unknown;
      readonly importMs: number;
      /** `file:line` of a syntax error, when it could be found. */
      readonly location: string | undefined;
    };

/** An export that looks like an activator; classes are constructed only when the plugin starts. */
interface ActivatorCandidate {
  readonly exportName: string;
  readonly value: object;
  readonly isClass: boolean;
}

interface ActivePlugin {
  readonly record: PluginRecord;
  readonly context: PluginServiceContext;
  /** Started activators, in start order. */
  readonly activators: readonly ServiceActivator[];
  /** 0 for a plugin, 1 for its extensions, ...: stop runs deepest first. */
  readonly depth: number;
}

/** Outcome of one plugin's activation: when it failed, the problem its descendants point at. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly where: string };

class PluginServiceContext implements ServiceContext {
  readonly ids = ServiceIds;
  /** Closed once the plugin is broken or stopped: late registrations would leak past unregisterAll. */
  open = true;

  constructor(
    readonly plugin: PluginIdentity,
    readonly log: PluginLogger,
    private readonly registry: ServiceRegistry,
  ) {}

  // Arrow properties so plain-JS plugins may destructure the context without losing `this`.
  registerService = <T>(id: ServiceIdLike<T>, service: T, options?: RegisterOptions): ServiceRegistration<T> => {
    if (!this.open) {
      throw new PluginError(this.plugin.name, 'PLUGIN_NOT_ACTIVE', `plugin "${this.plugin.name}" tried to register a service after it failed or stopped`, {
        where: this.plugin.directory,
      });
    }
    return this.registry.register(this.plugin.name, id, service, options);
  };

  createCollector = (): Collector => this.registry.createCollector();
}

/**
 * Loads every enabled plugin's entry module and starts its activators (SPIF's ServiceActivator).
 * All-or-nothing per plugin: a failure marks it broken, stops what it started, removes its
 * registrations and marks its enabled descendants broken (PARENT_BROKEN); the rest go on.
 */
@injectable()
export class PluginActivationService {
  readonly #active = new Map<string, ActivePlugin>();

  constructor(@inject(ServiceRegistry) readonly registry: ServiceRegistry) {}

  /** Names of plugins started and not yet stopped. */
  activePlugins(): string[] {
    return [...this.#active.keys()];
  }

  isActive(name: string): boolean {
    return this.#active.has(name);
  }

  /**
   * Activates every `enabled` record not already active and mutates records that fail
   * (state `broken`, problems appended). Resolves once every start has settled.
   */
  async activate(inventory: PluginInventory, options: ActivationOptions = {}): Promise<ActivationResult> {
    const records = inventory.records;
    const candidates = new Map<string, PluginRecord>();
    for (const record of records.values()) {
      if (record.state === 'enabled' && !this.#active.has(record.name)) candidates.set(record.name, record);
    }

    // Every import starts now and runs concurrently; starting waits only for the parent.
    const loads = new Map<string, Promise<Loaded>>();
    for (const record of candidates.values()) loads.set(record.name, loadEntry(record));

    const sink = options.logSink ?? writeStderr;
    // --debug (which sets AB_DEBUG) turns on plugins' debug lines too.
    const debug = options.debug ?? process.env.AB_DEBUG === '1';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const active: string[] = [];
    const broken = new Set<string>();
    const timings: PluginActivationTiming[] = [];
    const visited = new Set<string>();

    const note = (timing: PluginActivationTiming): void => {
      timings.push(timing);
      options.onTiming?.(timing);
    };

    const markParentBroken = async (record: PluginRecord, origin: string, where: string, state = 'is broken'): Promise<void> => {
      visited.add(record.name);
      const loaded = await loads.get(record.name);
      // Its own import failure is real news too: reporting both saves the user a second round.
      if (loaded !== undefined && !loaded.ok) record.problems.push(loadProblem(record, loaded.entry, loaded.error, loaded.location));
      record.problems.push({
        code: ActivationProblemCode.ParentBroken,
        message: `${kind(record)} "${record.name}" was not started because ${record.parentName === origin ? 'its parent' : 'its ancestor'} "${origin}" ${state}`,
        where,
        hint: `fix or disable "${origin}"`,
      });
      record.state = 'broken';
      record.disabledBy = origin;
      broken.add(record.name);
      note({ plugin: record.name, importMs: loaded?.importMs ?? 0, startMs: 0, outcome: 'broken' });
    };

    const cascade = async (record: PluginRecord, origin: string, where: string): Promise<void> => {
      const below: Promise<void>[] = [];
      const walk = (parent: PluginRecord): void => {
        for (const childName of parent.children) {
          const child = candidates.get(childName);
          if (child === undefined || visited.has(childName)) continue;
          below.push(markParentBroken(child, origin, where));
          walk(child);
        }
      };
      walk(record);
      await Promise.all(below);
    };

    const activateTree = async (record: PluginRecord, depth: number): Promise<void> => {
      visited.add(record.name);
      const loaded = await (loads.get(record.name) as Promise<Loaded>);
      const t0 = performance.now();
      const outcome = await this.#activateOne(record, loaded, depth, sink, debug, timeoutMs);
      note({ plugin: record.name, importMs: loaded.importMs, startMs: performance.now() - t0, outcome: outcome.ok ? 'active' : 'broken' });
      if (outcome.ok) {
        active.push(record.name);
        await Promise.all(
          record.children.flatMap((name) => {
            const child = candidates.get(name);
            return child === undefined || visited.has(name) ? [] : [activateTree(child, depth + 1)];
          }),
        );
      } else {
        broken.add(record.name);
        await cascade(record, record.name, outcome.where);
      }
    };

    const roots: Promise<void>[] = [];
    for (const record of candidates.values()) {
      const parentName = record.parentName;
      if (parentName === undefined || this.#active.has(parentName)) {
        roots.push(activateTree(record, parentName === undefined ? 0 : (this.#active.get(parentName) as ActivePlugin).depth + 1));
        continue;
      }
      if (candidates.has(parentName)) continue; // reached through its parent
      // Discovery should already have settled these; kept so an inconsistent inventory cannot start an orphan.
      const parent = records.get(parentName);
      if (parent?.state === 'disabled') {
        visited.add(record.name);
        record.state = 'disabled';
        record.disabledBy = parent.disabledBy === 'user' || parent.disabledBy === undefined ? parent.name : parent.disabledBy;
        continue;
      }
      const where = parent?.directory ?? record.directory;
      roots.push(
        markParentBroken(record, parentName, where, parent === undefined ? 'is not installed' : 'is broken').then(() =>
          cascade(record, parentName, where),
        ),
      );
    }
    await Promise.all(roots);

    // Anything still unvisited sits on a parent cycle that never reaches a plugin.
    for (const record of candidates.values()) {
      if (visited.has(record.name)) continue;
      visited.add(record.name);
      record.problems.push({
        code: ActivationProblemCode.ParentBroken,
        message: `extension "${record.name}" was not started: its chain of parents never reaches a top-level plugin`,
        where: record.directory,
        hint: 'check parentName in the plugin.config files of this chain',
      });
      record.state = 'broken';
      broken.add(record.name);
    }

    return { active, broken: [...broken].sort(), timings };
  }

  /**
   * Calls `stop` on every started activator (extensions before their parents; all of one
   * depth together, settled, so one failure skips nothing), then removes every registration
   * of those plugins. Never throws: failures come back as a list.
   */
  async stopAll(options: Pick<ActivationOptions, 'timeoutMs'> = {}): Promise<StopFailure[]> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const plugins = [...this.#active.values()];
    this.#active.clear();
    const byDepth = new Map<number, ActivePlugin[]>();
    for (const p of plugins) {
      const tier = byDepth.get(p.depth);
      if (tier === undefined) byDepth.set(p.depth, [p]);
      else tier.push(p);
    }
    const failures: StopFailure[] = [];
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      const tier = byDepth.get(depth) as ActivePlugin[];
      const calls: { plugin: ActivePlugin; done: Promise<unknown> }[] = [];
      for (const plugin of tier) {
        for (const activator of [...plugin.activators].reverse()) {
          if (typeof activator.stop !== 'function') continue;
          calls.push({ plugin, done: callWithin(() => activator.stop?.(plugin.context), timeoutMs, 'stop') });
        }
      }
      const settled = await Promise.allSettled(calls.map((c) => c.done));
      settled.forEach((result, i) => {
        if (result.status === 'rejected') {
          const name = (calls[i] as (typeof calls)[number]).plugin.record.name;
          failures.push({ plugin: name, message: `plugin "${name}": stop failed: ${errorText(result.reason)}`, error: result.reason });
        }
      });
      for (const plugin of tier) {
        plugin.context.open = false;
        this.registry.unregisterAll(plugin.record.name);
      }
    }
    return failures;
  }

  async #activateOne(
    record: PluginRecord,
    loaded: Loaded,
    depth: number,
    sink: (line: string) => void,
    debug: boolean,
    timeoutMs: number,
  ): Promise<Outcome> {
    const entry = loaded.entry;
    const fail = (problem: PluginProblem): Outcome => {
      record.problems.push(problem);
      record.state = 'broken';
      return { ok: false, where: entry };
    };
    if (!loaded.ok) return fail(loadProblem(record, entry, loaded.error, loaded.location));

    const candidates = findActivators(loaded.exports);
    if (candidates.length === 0) {
      return fail({
        code: ActivationProblemCode.NoActivator,
        message: `${kind(record)} "${record.name}": ${entry} exports no activator`,
        where: entry,
        hint: 'export an object with a start(context) method, or a class whose instances have one',
      });
    }

    const identity: PluginIdentity = {
      name: record.name,
      version: record.manifest?.version ?? '',
      directory: record.directory,
      parentName: record.parentName,
    };
    const context = new PluginServiceContext(identity, makeLogger(record.name, sink, debug), this.registry);
    const started: ServiceActivator[] = [];
    let failure: { what: string; error: unknown } | undefined;

    // One activator at a time within a plugin, so a failure leaves a clear set to stop.
    for (const candidate of candidates) {
      let activator: ServiceActivator;
      try {
        activator = candidate.isClass ? (new (candidate.value as new () => ServiceActivator)() as ServiceActivator) : (candidate.value as ServiceActivator);
      } catch (error) {
        failure = { what: `constructing activator ${describeExport(candidate)} failed`, error };
        break;
      }
      try {
        await callWithin(() => activator.start(context), timeoutMs, 'start');
        started.push(activator);
      } catch (error) {
        failure = { what: `activator ${describeExport(candidate)} failed to start`, error };
        break;
      }
    }

    if (failure === undefined) {
      this.#active.set(record.name, { record, context, activators: started, depth });
      return { ok: true };
    }

    // Undo: stop what did start (it may unregister its own services), then sweep the rest.
    const stopped = await Promise.allSettled(
      started.reverse().flatMap((a) => (typeof a.stop === 'function' ? [callWithin(() => a.stop?.(context), timeoutMs, 'stop')] : [])),
    );
    context.open = false;
    this.registry.unregisterAll(record.name);
    const stopErrors = stopped.flatMap((s) => (s.status === 'rejected' ? [errorText(s.reason)] : []));
    const alsoStop = stopErrors.length === 0 ? '' : `; stopping its other activators also failed: ${stopErrors.join('; ')}`;
    return fail({
      code: ActivationProblemCode.StartFailed,
      message: `${kind(record)} "${record.name}" (${entry}): ${failure.what}: ${errorText(failure.error)}${alsoStop}`,
      where: entry,
      hint: 'fix the activator or disable the plugin; nothing it registered was kept',
    });
  }
}

// ---------------------------------------------------------------- helpers

async function loadEntry(record: PluginRecord): Promise<Loaded> {
  const main = record.manifest?.main ?? 'index.js';
  const entry = path.join(record.directory, main);
  const t0 = performance.now();
  try {
    const exports = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    return { ok: true, entry, exports, importMs: performance.now() - t0 };
  } catch (error) {
    const importMs = performance.now() - t0;
    const location = isSyntaxError(error) ? await syntaxErrorLocation(entry) : undefined;
    return { ok: false, entry, error, importMs, location };
  }
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

/** Default and named exports that have `start` (objects) or `prototype.start` (classes), each once. */
function findActivators(exports: Readonly<Record<string, unknown>>): ActivatorCandidate[] {
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

function describeExport(candidate: ActivatorCandidate): string {
  const className = candidate.isClass ? (candidate.value as { name?: unknown }).name : undefined;
  const label = typeof className === 'string' && className !== '' && className !== candidate.exportName ? ` (class ${className})` : '';
  return `"${candidate.exportName}"${label}`;
}

function kind(record: PluginRecord): string {
  return record.parentName === undefined ? 'plugin' : 'extension';
}

function loadProblem(record: PluginRecord, entry: string, error: unknown, location: string | undefined): PluginProblem {
  const missing = (error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND' && errorText(error).includes(entry);
  return {
    code: ActivationProblemCode.LoadFailed,
    message: missing
      ? `${kind(record)} "${record.name}": entry module ${entry} does not exist`
      : `${kind(record)} "${record.name}" could not load ${entry}: ${loadCause(error, entry, location)}`,
    where: entry,
    hint: missing ? 'check "main" in plugin.config (default index.js)' : 'fix the module; the plugin stays broken until it imports cleanly',
  };
}

/** The cause in one line; a syntax error says where, in the entry itself or in a module it imports. */
function loadCause(error: unknown, entry: string, location: string | undefined): string {
  const text = errorText(error);
  if (!isSyntaxError(error)) return text;
  if (location === undefined) return `SyntaxError: ${text}`;
  const line = location.slice(location.lastIndexOf(':') + 1);
  const file = location.slice(0, location.lastIndexOf(':'));
  return `SyntaxError at ${file === entry ? `line ${line}` : location}: ${text}`;
}

function makeLogger(name: string, sink: (line: string) => void, debug: boolean): PluginLogger {
  return {
    info: (message) => sink(`${name}: ${message}`),
    warn: (message) => sink(`${name}: warning: ${message}`),
    debug: debug ? (message) => sink(`${name}: debug: ${message}`) : () => undefined,
  };
}

/**
 * Runs `fn`, turning a synchronous throw into a rejection and bounding an async result by
 * `ms`; the timer exists only for results that are actually promises.
 */
function callWithin(fn: () => unknown, ms: number, what: string): Promise<unknown> {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return Promise.reject(error);
  }
  if (result === null || typeof result !== 'object' || typeof (result as { then?: unknown }).then !== 'function') {
    return Promise.resolve(result);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}() did not finish within ${ms} ms`)), ms);
    (result as PromiseLike<unknown>).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

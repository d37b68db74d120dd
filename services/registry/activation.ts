import { inject, injectable, optional } from 'inversify';
import { AbError, errorText } from '../../core/errors.js';
import type { PluginIdentity, ServiceActivator } from '../../core/plugin-contract.js';
import type { ActivationOutcome, PluginActivation, PluginInventory, PluginProblem, PluginRecord } from '../../core/plugin-model.js';
import { descendantsOf } from '../../core/plugin-tree.js';
import { registerPluginMessages } from '../messages/plugin-messages.js';
import { callHook, hookTimeoutMs } from '../plugin-hooks.js';
import { ActivationMemory, type ActivationMemoryKey, type RememberedFailure } from './activation-memory.js';
import {
  ActivationProblemCode,
  describeExport,
  entryOf,
  findActivators,
  loadEntry,
  pluginKind,
  type LoadedEntry,
} from './entry-module.js';
import { PluginServiceContext, pluginLogger } from './plugin-context.js';
import { ServiceRegistry } from './service-registry.js';

export { ActivationProblemCode };

export interface ActivationOptions {
  /** Where plugin log lines go, one line per call without the newline; default: stderr. */
  readonly logSink?: (line: string) => void;
  /** Whether `log.debug` lines are written; default false. */
  readonly debug?: boolean;
  /**
   * Longest an import, `start` or `stop` may take before it counts as failed; default
   * `AB_HOOK_TIMEOUT_MS` when set, else 60 000 ms.
   */
  readonly timeoutMs?: number;
}

export interface StopFailure {
  readonly plugin: string;
  readonly message: string;
  readonly error: unknown;
}

/** Activators get less time than other hooks: every command waits for them. */
export const DEFAULT_ACTIVATION_TIMEOUT_MS = 60_000;

/** The limit for imports, `start` and `stop`: an explicit one, else `AB_HOOK_TIMEOUT_MS`, else the default. */
function activationTimeoutMs(explicit: number | undefined): number {
  return explicit ?? (process.env.AB_HOOK_TIMEOUT_MS ? hookTimeoutMs() : DEFAULT_ACTIVATION_TIMEOUT_MS);
}

const writeStderr = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface ActivePlugin {
  readonly record: PluginRecord;
  readonly context: PluginServiceContext;
  /** Started activators, in start order. */
  readonly activators: readonly ServiceActivator[];
  /** 0 for a plugin, 1 for its extensions, ...: stop runs deepest first. */
  readonly depth: number;
}

/** One call of `activate`: what it was given and what it found so far. */
interface Run {
  readonly inventory: PluginInventory;
  /** The enabled plugins not yet active: the ones this run starts. */
  readonly candidates: ReadonlyMap<string, PluginRecord>;
  readonly loads: ReadonlyMap<string, Promise<LoadedEntry>>;
  readonly remembered: ReadonlyMap<string, RememberedFailure>;
  readonly outcome: Map<string, PluginActivation>;
  readonly sink: (line: string) => void;
  readonly debug: boolean;
  readonly timeoutMs: number;
}

/**
 * Loads every enabled plugin's entry module and starts its activators (SPIF's ServiceActivator),
 * calling plugin code only through the hook policy (services/plugin-hooks.ts). All-or-nothing
 * per plugin: a failure stops what it started and removes its registrations, and its enabled
 * descendants are skipped; the rest go on. The inventory is not touched: the result says what
 * happened, and `withActivationOutcome` (core/plugin-tree.ts) applies it.
 */
@injectable()
export class PluginActivationService {
  readonly #active = new Map<string, ActivePlugin>();

  constructor(
    @inject(ServiceRegistry) readonly registry: ServiceRegistry,
    @inject(ActivationMemory) @optional() private readonly memory?: ActivationMemory,
  ) {}

  /** Names of plugins started and not yet stopped. */
  activePlugins(): string[] {
    return [...this.#active.keys()];
  }

  isActive(name: string): boolean {
    return this.#active.has(name);
  }

  /**
   * Starts every `enabled` plugin of `inventory` not already active. Relies on the tree
   * `buildPluginInventory` built: an enabled extension's parent is enabled, so each one is
   * reached from its top-level plugin (or from an already active parent). Resolves once every
   * start has settled.
   */
  async activate(inventory: PluginInventory, options: ActivationOptions = {}): Promise<ActivationOutcome> {
    const candidates = new Map<string, PluginRecord>();
    for (const record of inventory.records.values()) {
      if (record.state === 'enabled' && !this.#active.has(record.name)) candidates.set(record.name, record);
    }
    const timeoutMs = activationTimeoutMs(options.timeoutMs);
    const sink = options.logSink ?? writeStderr;
    const remembered = await this.#recall(candidates);
    // Every import starts now and runs concurrently; starting waits only for the parent.
    const loads = new Map<string, Promise<LoadedEntry>>();
    for (const record of candidates.values()) {
      if (!remembered.has(record.name)) loads.set(record.name, loadEntry(record, timeoutMs));
    }
    const run: Run = {
      inventory,
      candidates,
      loads,
      remembered,
      outcome: new Map(),
      sink,
      // --debug (which sets AB_DEBUG) turns on plugins' debug lines too.
      debug: options.debug ?? process.env.AB_DEBUG === '1',
      timeoutMs,
    };
    const roots: Promise<void>[] = [];
    for (const record of candidates.values()) {
      const parent = record.parentName === undefined ? undefined : this.#active.get(record.parentName);
      if (record.parentName === undefined || parent !== undefined) roots.push(this.#startTree(run, record, parent === undefined ? 0 : parent.depth + 1));
    }
    await Promise.all(roots);
    return { plugins: run.outcome };
  }

  /**
   * Calls `stop` on every started activator (extensions before their parents; all of one
   * depth together, settled, so one failure skips nothing), then removes every registration
   * of those plugins. Never throws: failures come back as a list.
   */
  async stopAll(options: Pick<ActivationOptions, 'timeoutMs'> = {}): Promise<StopFailure[]> {
    // Nothing started (activation may have refused a bad AB_HOOK_TIMEOUT_MS): nothing to stop, nothing to read.
    if (this.#active.size === 0) return [];
    const timeoutMs = activationTimeoutMs(options.timeoutMs);
    const plugins = [...this.#active.values()];
    this.#active.clear();
    const depths = [...new Set(plugins.map((p) => p.depth))].sort((a, b) => b - a);
    const failures: StopFailure[] = [];
    for (const depth of depths) {
      const tier = plugins.filter((p) => p.depth === depth);
      const stopping = tier.map(async (plugin) => {
        for (const error of await stopActivators(plugin.record.name, plugin.activators, plugin.context, timeoutMs)) {
          failures.push({ plugin: plugin.record.name, message: `plugin "${plugin.record.name}": ${messageOf(error)}`, error });
        }
      });
      await Promise.all(stopping);
      for (const plugin of tier) {
        plugin.context.open = false;
        this.registry.unregisterAll(plugin.record.name);
      }
    }
    return failures;
  }

  /** Starts `record`, then its enabled children; when it breaks, its enabled descendants are skipped. */
  async #startTree(run: Run, record: PluginRecord, depth: number): Promise<void> {
    const result = await this.#startOne(run, record, depth);
    run.outcome.set(record.name, result);
    if (result.status === 'active') {
      const children = record.children.flatMap((name) => {
        const child = run.candidates.get(name);
        return child === undefined ? [] : [child];
      });
      await Promise.all(children.map((child) => this.#startTree(run, child, depth + 1)));
      return;
    }
    const where = result.problems[0]?.where ?? record.directory;
    const below = descendantsOf(run.inventory, record.name).flatMap((name) => {
      const descendant = run.candidates.get(name);
      return descendant === undefined ? [] : [this.#skip(run, descendant, record.name, where)];
    });
    await Promise.all(below);
  }

  async #skip(run: Run, record: PluginRecord, origin: string, where: string): Promise<void> {
    const problems: PluginProblem[] = [];
    const loaded = await run.loads.get(record.name);
    // Its own import failure is real news too: reporting both saves the user a second round.
    if (loaded !== undefined && !loaded.ok) problems.push(loaded.problem);
    problems.push({
      code: ActivationProblemCode.ParentBroken,
      message: `${pluginKind(record)} "${record.name}" was not started because ${record.parentName === origin ? 'its parent' : 'its ancestor'} "${origin}" is broken`,
      where,
      hint: `fix or disable "${origin}"`,
    });
    run.outcome.set(record.name, { status: 'skipped', brokenAncestor: origin, problems });
  }

  async #startOne(run: Run, record: PluginRecord, depth: number): Promise<PluginActivation> {
    const earlier = run.remembered.get(record.name);
    if (earlier !== undefined) return broken(hungBeforeProblem(record, earlier));

    const loaded = await (run.loads.get(record.name) as Promise<LoadedEntry>);
    const entry = loaded.entry;
    if (!loaded.ok) {
      if (!loaded.timedOut) return broken(loaded.problem);
      await this.#remember(run, record, loaded.problem.message);
      return broken({ ...loaded.problem, hint: hungHint(record) });
    }

    const candidates = findActivators(loaded.exports);
    if (candidates.length === 0) {
      return broken({
        code: ActivationProblemCode.NoActivator,
        message: `${pluginKind(record)} "${record.name}": ${entry} exports no activator`,
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
    const messages = registerPluginMessages(record.name, record.directory);
    const context = new PluginServiceContext(identity, pluginLogger(record.name, run.sink, run.debug), this.registry, messages);
    const started: ServiceActivator[] = [];
    let failure: { activator: string; error: unknown } | undefined;
    // One activator at a time within a plugin, so a failure leaves a clear set to stop.
    for (const candidate of candidates) {
      try {
        const activator = candidate.isClass
          ? await callHook({ plugin: record.name, hook: 'constructor' }, () => new (candidate.value as new () => ServiceActivator)())
          : (candidate.value as ServiceActivator);
        await callHook({ plugin: record.name, hook: 'start', timeoutMs: run.timeoutMs }, () => activator.start(context));
        started.push(activator);
      } catch (error) {
        failure = { activator: describeExport(candidate), error };
        break;
      }
    }
    if (failure === undefined) {
      this.#active.set(record.name, { record, context, activators: started, depth });
      return { status: 'active' };
    }

    // Undo: stop what did start (it may unregister its own services), then sweep the rest.
    const stopErrors = await stopActivators(record.name, started, context, run.timeoutMs);
    context.open = false;
    this.registry.unregisterAll(record.name);
    const alsoStop = stopErrors.length === 0 ? '' : `; stopping its other activators also failed: ${stopErrors.map(messageOf).join('; ')}`;
    const message = `${pluginKind(record)} "${record.name}" (${entry}): activator ${failure.activator}: ${messageOf(failure.error)}${alsoStop}`;
    const timedOut = isTimeout(failure.error);
    if (timedOut) await this.#remember(run, record, message);
    return broken({
      code: ActivationProblemCode.StartFailed,
      message,
      where: entry,
      hint: timedOut ? hungHint(record) : 'fix the activator or disable the plugin; nothing it registered was kept',
    });
  }

  async #recall(candidates: ReadonlyMap<string, PluginRecord>): Promise<ReadonlyMap<string, RememberedFailure>> {
    if (this.memory === undefined || candidates.size === 0) return new Map();
    return this.memory.recall([...candidates.values()].map(memoryKey));
  }

  /** A failure to write the memory costs the next command time, nothing more: say so and go on. */
  async #remember(run: Run, record: PluginRecord, message: string): Promise<void> {
    if (this.memory === undefined) return;
    try {
      await this.memory.remember(memoryKey(record), message);
    } catch (error) {
      run.sink(`warning: could not record that ${record.name} hung, so the next command waits for it again: ${messageOf(error)}`);
    }
  }
}

function broken(problem: PluginProblem): PluginActivation {
  return { status: 'broken', problems: [problem] };
}

function memoryKey(record: PluginRecord): ActivationMemoryKey {
  return { name: record.name, version: record.manifest?.version ?? '', entry: entryOf(record) };
}

function hungHint(record: PluginRecord): string {
  return (
    `fix the plugin, or allow more time with AB_HOOK_TIMEOUT_MS (milliseconds); until then later commands skip it ` +
    `without waiting, and abctl enablePlugin --name ${record.name} tries it again`
  );
}

function hungBeforeProblem(record: PluginRecord, earlier: RememberedFailure): PluginProblem {
  return {
    code: ActivationProblemCode.HungBefore,
    message: `${pluginKind(record)} "${record.name}" was not started: it hung on ${earlier.at} and has not changed since (${earlier.message})`,
    where: entryOf(record),
    hint: `try it again with abctl enablePlugin --name ${record.name}, or install a fixed version`,
  };
}

/** Stops `activators` in reverse start order, each under the hook policy; returns what failed. */
async function stopActivators(plugin: string, activators: readonly ServiceActivator[], context: PluginServiceContext, timeoutMs: number): Promise<unknown[]> {
  const stops = [...activators].reverse().flatMap((a) => (typeof a.stop === 'function' ? [callHook({ plugin, hook: 'stop', timeoutMs }, () => a.stop?.(context))] : []));
  const settled = await Promise.allSettled(stops);
  return settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
}

function isTimeout(error: unknown): boolean {
  return error instanceof AbError && error.code === 'HOOK_TIMEOUT';
}

/** The plugin error's own line; its generic hint (about AB_HOOK_TIMEOUT_MS) would repeat on every problem. */
function messageOf(error: unknown): string {
  return error instanceof AbError ? error.message : errorText(error);
}

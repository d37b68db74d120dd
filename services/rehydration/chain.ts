/**
 * Runs one lifecycle operation over a plugin chain: the appliance's creator plugin first, then
 * its enabled extensions in the order dehydration uses (core/plugin-tree.ts resolveChain).
 * Every call into plugin code goes through callHook (time limit, abort, plugin-error wrapping);
 * the first failure stops the chain and names the plugin, the step and the cause. A
 * participant that does not implement the operation is skipped: that is how an extension with
 * nothing to do, and a plugin written for SDK 1.0, take part.
 */
import { PluginError, UserError, errorText } from '../../core/errors.js';
import type { LifecycleContext, LifecycleOperation, PingResult } from '../../core/lifecycle-contract.js';
import type { IntrospectorPlugin, ServiceCollector } from '../../core/plugin-contract.js';
import { pluginChain } from '../jobs/plugin-chain.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { JobInterrupted, callHook } from '../plugin-hooks.js';
import { withUtils } from '../utils/module.js';

/** A participant's introspector service; since SDK 1.1 it may have the lifecycle methods. */
export type LifecycleService = IntrospectorPlugin;

export interface ChainMember {
  readonly name: string;
  readonly service: LifecycleService;
}

export interface PingAnswer extends PingResult {
  readonly plugin: string;
}

export interface ChainOutcome {
  readonly operation: LifecycleOperation;
  /** Participants whose method ran, in order. */
  readonly ran: readonly string[];
  /** Participants that do not implement the operation. */
  readonly skipped: readonly string[];
  /** False when no participant implements start/stop/ping (rehydrate always has the framework's part). */
  readonly supported: boolean;
  /** ping: healthy only when every answer is; the first unhealthy answer ends the chain. */
  readonly health?: { readonly healthy: boolean; readonly message: string; readonly answers: readonly PingAnswer[] };
}

/**
 * The creator plugin and its enabled extensions with their services, in execution order. A
 * broken extension refuses the chain (EXTENSION_BROKEN) unless `withoutBroken`: then the chain
 * runs without it and its subtree, and the caller reports it afterwards (stop does).
 */
export function chainMembers(inventory: PluginInventory, collector: ServiceCollector, creator: string, withoutBroken = false): ChainMember[] {
  const record = inventory.records.get(creator);
  if (record === undefined || record.state !== 'enabled') {
    throw new UserError('PLUGIN_NOT_ENABLED', `plugin "${creator}", which created the appliance, is ${record === undefined ? 'not installed' : record.state}`, {
      ...(record ? { where: record.directory } : {}),
      hint: record?.problems[0]?.message ?? 'its directory must be in the bundle (plugins/<name>) with a plugin.config',
    });
  }
  // The jobs' chain: matched on the owner the registry recorded, parent before child.
  return pluginChain(inventory, collector, creator, `the chain of ${creator}`, withoutBroken).members.map(({ name, service }) => ({ name, service }));
}

export interface RunChainOptions {
  readonly operation: LifecycleOperation;
  readonly members: readonly ChainMember[];
  readonly context: (plugin: string) => LifecycleContext;
  /** For messages: `appliance "web"`. */
  readonly subject: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export async function runChain(opts: RunChainOptions): Promise<ChainOutcome> {
  const { operation, members } = opts;
  const ran: string[] = [];
  const skipped: string[] = [];
  const answers: PingAnswer[] = [];
  for (let i = 0; i < members.length; i++) {
    const m = members[i] as ChainMember;
    const method = m.service[operation];
    if (typeof method !== 'function') {
      skipped.push(m.name);
      continue;
    }
    let result: unknown;
    try {
      const ctx = opts.context(m.name);
      result = await callHook({ plugin: m.name, hook: operation, signal: opts.signal, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) }, () =>
        withUtils(ctx.utils, () => (method as (ctx: LifecycleContext) => unknown).call(m.service, ctx)),
      );
    } catch (err) {
      throw stepError(opts, i, err);
    }
    ran.push(m.name);
    if (operation === 'ping') {
      const answer = pingAnswer(m.name, result);
      answers.push(answer);
      if (!answer.healthy) break;
    }
  }
  const supported = operation === 'rehydrate' || ran.length > 0;
  if (operation !== 'ping') return { operation, ran, skipped, supported };
  const bad = answers.find((a) => !a.healthy);
  const health = !supported
    ? { healthy: false, message: notSupported(opts), answers }
    : bad
      ? { healthy: false, message: `${bad.plugin}: ${bad.message}`, answers }
      : { healthy: true, message: answers.map((a) => `${a.plugin}: ${a.message}`).join('; '), answers };
  return { operation, ran, skipped, supported, health };
}

/** What the user is told when no plugin of the chain implements start, stop or ping. */
export function notSupported(opts: Pick<RunChainOptions, 'operation' | 'members'>): string {
  return `${opts.operation} is not supported: no plugin of the chain (${opts.members.map((m) => m.name).join(', ')}) implements ${opts.operation}() (plugins written for SDK 1.0 have none)`;
}

function pingAnswer(plugin: string, value: unknown): PingAnswer {
  const v = value as { healthy?: unknown; message?: unknown } | undefined;
  if (typeof v !== 'object' || v === null || typeof v.healthy !== 'boolean') {
    throw new PluginError(plugin, 'PING_RESULT_INVALID', `ping() of ${plugin} must return { healthy: boolean, message: string }, not ${JSON.stringify(value)}`, {
      hint: "return e.g. { healthy: true, message: 'answers on :8080' }",
    });
  }
  return { plugin, healthy: v.healthy, message: typeof v.message === 'string' ? v.message : '' };
}

/** The first failure: which plugin, which step of how many, the cause, and who did not run. */
function stepError(opts: RunChainOptions, index: number, err: unknown): Error {
  if (err instanceof JobInterrupted) return err;
  const m = opts.members[index] as ChainMember;
  const later = opts.members.slice(index + 1).map((x) => x.name);
  const cause = err instanceof PluginError ? err.message : errorText(err);
  const hint = (err as { hint?: unknown }).hint;
  return new PluginError(
    m.name,
    'LIFECYCLE_STEP_FAILED',
    `${opts.operation} of ${opts.subject} failed in ${index === 0 ? 'plugin' : 'extension'} ${m.name} (step ${index + 1} of ${opts.members.length}): ${cause}`,
    {
      hint: `${typeof hint === 'string' ? `${hint}; ` : ''}${later.length ? `not run: ${later.join(', ')}` : 'it was the last of the chain'}`,
      cause: err,
    },
  );
}

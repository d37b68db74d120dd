/**
 * The plugin chain of a job: a root plugin and its enabled extensions, parent before child.
 * Every job runs the chain's hooks in this order (dehydrate, rehydrate, start, stop, ping) and
 * consults only services the chain's members registered. An extension the user disabled is
 * left out and named; a broken one fails the operation before it starts (brokenChainError).
 */
import { PluginError, UserError, type AbError } from '../../core/errors.js';
import type { ErrorCode } from '../../core/error-codes.js';
import type { IntrospectorPlugin, IntrospectorPluginExtension, ServiceCollector } from '../../core/plugin-contract.js';
import type { PluginInventory, PluginRecord } from '../../core/plugin-model.js';
import { resolveChain, type DisabledExtension, type ResolvedChain } from '../../core/plugin-tree.js';
import { ServiceIds, type ServiceIdLike } from '../../core/service-ids.js';

export interface ChainMember {
  readonly name: string;
  readonly service: IntrospectorPlugin;
  readonly isRoot: boolean;
}

export interface PluginChain {
  readonly root: string;
  /** The root first, then each enabled extension after its parent. */
  readonly members: readonly ChainMember[];
  /** Extensions left out because the user disabled them (or an ancestor): outputs name them. */
  readonly disabled: readonly DisabledExtension[];
}

/**
 * Problem codes that mean the plugin's own code failed (import, activator, a hang, a missing
 * service): that plugin's error. Everything else (plugin.config, parent, SDK, an unreadable
 * file) is for the user to repair.
 */
const OWN_CODE_FAILURES: ReadonlySet<string> = new Set(['PLUGIN_LOAD_FAILED', 'PLUGIN_NO_ACTIVATOR', 'PLUGIN_START_FAILED', 'PLUGIN_HUNG_BEFORE', 'PLUGIN_SERVICE_MISSING', 'PLUGIN_SERVICES_INVALID']);
/** A load failure with one of these in its text came from the machine, not from the plugin. */
const ENVIRONMENT_CAUSE = /\b(EACCES|EPERM|ENOSPC|EROFS|EIO|EMFILE|ENFILE|EDQUOT)\b/;

export interface BrokenChainOptions {
  /** The chain ran anyway without the broken part (stop): these members ran. */
  readonly ranWithout?: readonly string[];
  /** The plugins are a deployed instance's copies (the agent): the repair happens where abctl runs. */
  readonly inBundle?: boolean;
  /** Where disablePlugin does not apply (validatePlugin's sandbox): how to leave the extension out instead. */
  readonly leaveOut?: string;
}

/**
 * The error for a chain that cannot run because of `chain.broken[0]` (the first broken
 * extension in execution order): names it, gives the reason describePlugins shows, and the two
 * ways on: repair it, or disable it and run without it. `operation` reads e.g. `introspectTomcat`.
 */
export function brokenChainError(chain: ResolvedChain, operation: string, opts: BrokenChainOptions = {}): AbError {
  const { ranWithout, inBundle = false, leaveOut } = opts;
  const first = chain.broken[0] as PluginRecord;
  const { code, reason, repair, fault } = breakage(first);
  const others = [...chain.broken.slice(1).map((r) => r.name), ...chain.brokenBelow];
  const why = `extension ${first.name} of ${chain.root} is broken (${code}: ${reason})`;
  const message =
    (ranWithout === undefined ? `${operation} cannot run: ${why}` : `${operation} ran without extension ${first.name}, so it is incomplete: ${why}`) +
    (others.length > 0 ? `; also not run: ${others.join(', ')}` : '') +
    (ranWithout !== undefined ? `; ran: ${ranWithout.join(', ') || 'none'}` : '');
  const hint = inBundle
    ? `${repair}; this is the copy deployed with the instance: repair or reinstall it where abctl runs (abctl installPlugins --from DIR), or leave it out there (abctl disablePlugin --name ${first.name}), and deploy again`
    : leaveOut !== undefined
      ? `${repair}; or ${leaveOut}`
      : `${repair}; or reinstall a working copy (abctl installPlugins --from DIR); or run ${chain.root} without it: abctl disablePlugin --name ${first.name}`;
  return fault('EXTENSION_BROKEN', message, hint);
}

/**
 * The error for an operation on something `root` made while that root plugin is broken (and not
 * disabled by the user): the same reason and repair as for an extension; `without` says what
 * disabling it would mean for this operation. Code as introspection's refusal of a broken root.
 */
export function brokenRootError(root: PluginRecord, operation: string, without: string): AbError {
  const { code, reason, repair, fault } = breakage(root);
  return fault(
    'PLUGIN_NOT_ENABLED',
    `${operation} cannot run: plugin ${root.name} is broken (${code}: ${reason})`,
    `${repair}; or reinstall a working copy (abctl installPlugins --from DIR); or ${without}: abctl disablePlugin --name ${root.name}`,
  );
}

/** Why `record` is broken, how to repair it, and whose fault it is (its own code: that plugin's error). */
function breakage(record: PluginRecord): { code: string; reason: string; repair: string; fault: (code: ErrorCode, message: string, hint: string) => AbError } {
  const problem = record.problems.find((p) => p.code !== 'PARENT_BROKEN') ?? record.problems[0];
  const where = problem?.where ?? record.directory;
  const ownFault = problem !== undefined && OWN_CODE_FAILURES.has(problem.code) && !ENVIRONMENT_CAUSE.test(problem.message);
  return {
    code: problem?.code ?? 'broken',
    reason: problem?.message ?? 'abctl describePlugins shows why',
    repair: problem?.hint ? problem.hint.replace(/[.;\s]+$/, '') : 'repair it (abctl describePlugins shows its problems)',
    fault: (code, message, hint) => (ownFault ? new PluginError(record.name, code, message, { where, hint }) : new UserError(code, message, { where, hint })),
  };
}

/**
 * The chain below an enabled `root`, refused when an extension it would run is broken;
 * disabled extensions are left out and listed. Undefined when the root itself is not enabled
 * (each caller has its own answer to that).
 */
export function runnableChain(inventory: PluginInventory, root: string, operation: string, opts: BrokenChainOptions = {}): ResolvedChain | undefined {
  if (inventory.records.get(root)?.state !== 'enabled') return undefined;
  const chain = resolveChain(inventory, root);
  if (chain.broken.length > 0) throw brokenChainError(chain, operation, opts);
  return chain;
}

/**
 * Names of the chain below `root` (only enabled extensions); [] when the root is not enabled.
 * Throws EXTENSION_BROKEN when an extension of an enabled root is broken.
 */
export function chainNames(inventory: PluginInventory, root: string, operation: string, opts: BrokenChainOptions = {}): string[] {
  return [...(runnableChain(inventory, root, operation, opts)?.participants ?? [])];
}

/**
 * The services of `id` that members of the chain registered, in the registry's order. Matched
 * on the owner the registry recorded, not on the name a service claims for itself.
 */
export function chainServices<T>(services: ServiceCollector, id: ServiceIdLike<T>, names: readonly string[]): T[] {
  return services.getServicesWithOwner(id).flatMap((s) => (names.includes(s.owner) ? [s.service] : []));
}

/** The service of `id` that plugin `owner` registered (its best ranked one), if any. */
function ownedBy<T>(services: ServiceCollector, id: ServiceIdLike<T>, owner: string): T | undefined {
  return services.getServicesWithOwner(id).find((s) => s.owner === owner)?.service;
}

/** `introspect<name>` names a plugin or an alias extension; both run the root's whole chain. */
export function resolveCommandTarget(inventory: PluginInventory, services: ServiceCollector, name: string): string {
  const record = inventory.records.get(name);
  if (!record) {
    throw new UserError('PLUGIN_UNKNOWN', `no plugin named ${name}`, { hint: 'abctl describePlugins lists the plugins and their commands' });
  }
  if (record.state !== 'enabled') {
    const why = record.state === 'broken' ? `broken: ${record.problems[0]?.message ?? 'see describePlugins'}` : `disabled${record.disabledBy && record.disabledBy !== 'user' ? ` (by ${record.disabledBy})` : ''}`;
    throw new UserError('PLUGIN_NOT_ENABLED', `plugin ${name} is ${why}`, {
      hint: record.state === 'disabled' ? `abctl enablePlugin --name ${record.disabledBy && record.disabledBy !== 'user' ? record.disabledBy : name}` : 'abctl describePlugins shows why',
    });
  }
  if (record.parentName === undefined) return name;
  const isAlias = ownedBy(services, ServiceIds.IntrospectorPluginExtension, name)?.alias === true;
  if (!isAlias) {
    throw new UserError('NOT_AN_ALIAS', `${name} is an extension of ${record.rootName} and not an alias`, {
      hint: `run abctl introspect${record.rootName}; ${name} runs as part of it`,
    });
  }
  const root = inventory.records.get(record.rootName);
  if (root?.state !== 'enabled') throw new UserError('PLUGIN_NOT_ENABLED', `${name} belongs to ${record.rootName}, which is ${root?.state ?? 'missing'}`);
  return record.rootName;
}

/**
 * The chain below `root`, each member with the introspector service it registered. A member
 * that registered none has broken its contract; a broken extension refuses the chain
 * (`operation` names what it refuses) unless `withoutBroken` (stop: see runAgent).
 */
export function pluginChain(inventory: PluginInventory, services: ServiceCollector, root: string, operation = `the chain of ${root}`, withoutBroken = false): PluginChain {
  const resolved = resolveChain(inventory, root);
  if (resolved.broken.length > 0 && !withoutBroken) throw brokenChainError(resolved, operation);
  const members = resolved.participants.map((name, i): ChainMember => {
    const service: IntrospectorPlugin | undefined =
      i === 0 ? ownedBy(services, ServiceIds.IntrospectorPlugin, name) : ownedBy<IntrospectorPluginExtension>(services, ServiceIds.IntrospectorPluginExtension, name);
    if (!service) {
      const id = i === 0 ? 'IntrospectorPlugin' : 'IntrospectorPluginExtension';
      throw new PluginError(name, 'PLUGIN_SERVICE_MISSING', `${name} registered no ${id} service`, {
        where: inventory.records.get(name)?.directory,
        hint: `its activator must call context.registerService(context.ids.${id}, { name: '${name}', ... })`,
      });
    }
    return { name, service, isRoot: i === 0 };
  });
  return { root, members, disabled: resolved.disabled };
}

/**
 * The plugin chain of a job: a root plugin and its enabled extensions, parent before child.
 * Every job runs the chain's hooks in this order (dehydrate today; rehydrate, start, stop and
 * ping later) and consults only services the chain's members registered.
 */
import { PluginError, UserError } from '../../core/errors.js';
import type { IntrospectorPlugin, IntrospectorPluginExtension, ServiceCollector } from '../../core/plugin-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { participantsOf } from '../../core/plugin-tree.js';
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
}

/** Names of the chain below `root` (only enabled extensions); [] when the root is not enabled. */
export function chainNames(inventory: PluginInventory, root: string): string[] {
  return inventory.records.get(root)?.state === 'enabled' ? participantsOf(inventory, root) : [];
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
 * that registered none has broken its contract.
 */
export function pluginChain(inventory: PluginInventory, services: ServiceCollector, root: string): PluginChain {
  const members = participantsOf(inventory, root).map((name, i): ChainMember => {
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
  return { root, members };
}

import { PluginError, UserError } from '../../core/errors.js';
import type { Collector, IntrospectorPlugin, IntrospectorPluginExtension } from '../../core/plugin-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { participantsOf } from '../../core/plugin-tree.js';
import { ServiceIds } from '../../core/service-ids.js';

export interface Participant {
  readonly name: string;
  readonly service: IntrospectorPlugin;
  readonly isRoot: boolean;
}

/** `introspect<name>` names a plugin or an alias extension; both run the root's whole chain. */
export function resolveCommandTarget(inventory: PluginInventory, collector: Collector, name: string): string {
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
  const isAlias = collector.getServices(ServiceIds.IntrospectorPluginExtension).some((e) => e.name === name && e.alias === true);
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
 * The plugin and its enabled extensions, parent before child, each with the service it
 * registered. A plugin that registered none has broken its contract.
 */
export function participantServices(inventory: PluginInventory, collector: Collector, rootName: string): Participant[] {
  const plugins = collector.getServices(ServiceIds.IntrospectorPlugin);
  const extensions = collector.getServices<IntrospectorPluginExtension>(ServiceIds.IntrospectorPluginExtension);
  return participantsOf(inventory, rootName).map((name, i) => {
    const service = i === 0 ? plugins.find((p) => p.name === name) : extensions.find((e) => e.name === name);
    if (!service) {
      const id = i === 0 ? 'IntrospectorPlugin' : 'IntrospectorPluginExtension';
      throw new PluginError(name, 'PLUGIN_SERVICE_MISSING', `${name} registered no ${id} service named "${name}"`, {
        where: inventory.records.get(name)?.directory,
        hint: `its activator must call context.registerService(context.ids.${id}, { name: '${name}', ... })`,
      });
    }
    return { name, service, isRoot: i === 0 };
  });
}

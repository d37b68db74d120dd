/**
 * The `introspect<name>` commands of an instance, from plugin.config files only (no plugin
 * code, no DI container), so `abctl --help` stays about as quick as Node itself. Alias
 * extensions are declared in code, so only describePlugins can list them.
 */
export interface IntrospectCommandName {
  readonly name: string;
  readonly description: string;
}

export async function introspectCommandNames(instanceFlag: string | undefined): Promise<IntrospectCommandName[]> {
  const [{ discoverPlugins }, { PluginStateStore }, { instanceLayout, resolveInstanceDir }, { SDK_VERSION }] = await Promise.all([
    import('../services/plugins/discovery.js'),
    import('../services/plugins/plugin-state.js'),
    import('../services/instance.js'),
    import('../core/plugin-contract.js'),
  ]);
  const bundled = process.env.AB_BUNDLED_PLUGINS;
  const layout = instanceLayout(resolveInstanceDir(instanceFlag), ...(bundled ? [bundled] : []));
  const inventory = await discoverPlugins(
    [
      { path: layout.pluginsDir, source: 'installed' },
      { path: layout.bundledPluginsDir, source: 'bundled' },
    ],
    { disabled: await new PluginStateStore(layout.configDir).readDisabled(), sdkVersion: SDK_VERSION },
  );
  return [...inventory.records.values()]
    .filter((r) => r.state === 'enabled' && r.parentName === undefined)
    .map((r) => ({ name: `introspect${r.name}`, description: r.manifest?.description ?? '' }));
}

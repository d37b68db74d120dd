/**
 * The `introspect<name>` lines of the top-level help, from plugin.config files only (no
 * plugin code, no DI container), so `abctl --help` stays about as quick as Node itself.
 * Alias extensions are declared in code, so only describePlugins can list them.
 */
export async function introspectionHelp(instanceFlag: string | undefined): Promise<string> {
  try {
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
    const roots = [...inventory.records.values()].filter((r) => r.state === 'enabled' && r.parentName === undefined);
    if (roots.length === 0) return '\nNo enabled plugin on this instance, so no introspect<name> command (abctl describePlugins).';
    const width = Math.max(...roots.map((r) => r.name.length)) + 'introspect'.length + 2;
    const lines = roots.map((r) => `  ${`introspect${r.name}`.padEnd(width)}${r.manifest?.description ?? ''}`);
    return `\nIntrospection commands of this instance (plus alias extensions: abctl describePlugins):\n${lines.join('\n')}`;
  } catch {
    // Help must always print; a broken instance shows up in describePlugins instead.
    return '';
  }
}

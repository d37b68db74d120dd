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

/** The lines the top-level help adds after the built-in commands. */
export async function introspectionHelp(instanceFlag: string | undefined): Promise<string> {
  let commands: IntrospectCommandName[];
  try {
    commands = await introspectCommandNames(instanceFlag);
  } catch {
    // Help must always print; a broken instance shows up in describePlugins instead.
    return '';
  }
  if (commands.length === 0) return '\nNo enabled plugin on this instance, so no introspect<name> command (abctl describePlugins).\n';
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.description}`);
  return `\nIntrospection commands of this instance (plus alias extensions: abctl describePlugins):\n${lines.join('\n')}\n`;
}

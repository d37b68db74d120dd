/**
 * The built-in commands, described statically so `abctl --help` and `abctl X --help` need no
 * plugin code and no DI container (inversify alone costs ~120 ms to import). Each command's
 * implementation module is imported only when it runs. `introspect<name>` commands are
 * declared by cli/commands/introspect.ts once the plugins are known.
 */
import { AGENT_COMMANDS } from './agent-commands.js';
import { CATALOG_COMMANDS } from './catalog-commands.js';
import { DEPLOY_COMMANDS } from './deploy-commands.js';
import { VALIDATION_COMMANDS } from './validation-commands.js';
import { IMAGE_COMMANDS } from './image-commands.js';
import { KUBERNETES_COMMANDS } from './kubernetes-commands.js';
import { AUTHORING_COMMANDS } from './authoring-commands.js';
import { codecOption, defineCommand, hostOptions, jsonOption, type CodecOption, type CommandDefinition, type HostOptions, type JsonOption, type OptionSpec } from './command-spec.js';

export interface PluginNameOptions extends JsonOption {
  readonly name: string;
}

export interface EnablePluginOptions extends PluginNameOptions {
  readonly recursive?: boolean;
}

export interface InstallPluginsOptions extends JsonOption {
  readonly from: string;
  readonly allowDowngrade?: boolean;
  readonly force?: boolean;
  readonly link?: boolean;
}

export interface CaptureFileSetsOptions extends JsonOption, HostOptions, CodecOption {
  readonly appliance: string;
}

export type DiscoverOptions = JsonOption & HostOptions;

const pluginName: OptionSpec<PluginNameOptions> = { flags: '--name <plugin>', description: 'plugin or extension name', required: true };

const PLUGIN_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<JsonOption>({
    name: 'describePlugins',
    summary: 'show every plugin and extension as a tree with version, state, parent and aliases',
    details: 'Loads every enabled plugin (so activation failures show as "broken" with the reason).',
    options: [jsonOption],
    load: () => import('./commands/describe-plugins.js'),
  }),
  defineCommand<InstallPluginsOptions>({
    name: 'installPlugins',
    summary: 'install or upgrade the plugins a product installation ships',
    details:
      'DIR is a product home (plugins in DIR/plugins/introspector/<name>/), one plugin directory, or a directory of plugin directories.\n' +
      'Older installed versions are upgraded; an extension whose parent is not installed is refused.',
    options: [
      { flags: '--from <dir>', description: 'product home or plugin directory to install from', required: true },
      { flags: '--allow-downgrade', description: 'replace a newer installed version (refused while its appliances exist)' },
      { flags: '--force', description: 'reinstall when the same version is installed (by default it is left unchanged)' },
      { flags: '--link', description: 'development: link to the directory instead of copying it, so each edit is used by the next command' },
      jsonOption,
    ],
    load: () => import('./commands/install-plugins.js'),
  }),
  defineCommand<PluginNameOptions>({
    name: 'uninstallPlugin',
    summary: 'delete an installed plugin and, recursively, its extensions',
    details: 'Refused while the catalog has appliances created by the plugin or one of its extensions.',
    options: [pluginName, jsonOption],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.uninstall })),
  }),
  defineCommand<EnablePluginOptions>({
    name: 'enablePlugin',
    summary: 'enable a disabled plugin or extension',
    details: 'Refused while a parent of the extension is disabled.',
    options: [pluginName, { flags: '--recursive', description: 'also enable every extension below it' }, jsonOption],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.enable })),
  }),
  defineCommand<PluginNameOptions>({
    name: 'disablePlugin',
    summary: 'disable a plugin or extension and, recursively, its extensions',
    options: [pluginName, jsonOption],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.disable })),
  }),
];

const INTROSPECTION_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<CaptureFileSetsOptions>({
    name: 'captureFileSets',
    summary: 'capture (or capture again) the file sets of an introspected appliance',
    details: 'Reads the files from the reference host the appliance was introspected on; the previous archives stay until the new ones are complete.',
    options: [
      { flags: '--appliance <name>', description: 'appliance (or atomic assembly) in the catalog', required: true },
      codecOption,
      ...hostOptions('reference host, when it is not the one recorded at introspection'),
      jsonOption,
    ],
    load: () => import('./commands/capture-file-sets.js'),
  }),
  defineCommand<DiscoverOptions>({
    name: 'discover',
    summary: 'list the product installations each plugin finds on a host, with the parameters to introspect them',
    options: [...hostOptions('host to look at over SSH (default: this machine)'), jsonOption],
    load: () => import('./commands/discover.js'),
  }),
];

export const COMMANDS: readonly CommandDefinition[] = [...PLUGIN_COMMANDS, ...INTROSPECTION_COMMANDS, ...CATALOG_COMMANDS, ...AGENT_COMMANDS, ...DEPLOY_COMMANDS, ...VALIDATION_COMMANDS, ...IMAGE_COMMANDS, ...KUBERNETES_COMMANDS, ...AUTHORING_COMMANDS];

/**
 * The built-in commands, described statically so `abctl --help` and `abctl X --help` need no
 * plugin code and no DI container (inversify alone costs ~120 ms to import). Each command's
 * implementation module is imported only when it runs.
 */
import { CATALOG_COMMANDS } from './catalog-commands.js';

export interface OptionSpec {
  /** commander flags, e.g. `--from <dir>`. */
  readonly flags: string;
  readonly description: string;
  readonly required?: boolean;
  readonly defaultValue?: string | boolean;
}

export interface GlobalOptions {
  readonly instance?: string;
  readonly debug?: boolean;
}

/** What an implementation module exports as `run`. Returns the process exit code. */
export type CommandRun = (options: Record<string, unknown>, globals: GlobalOptions) => Promise<number>;

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Extra paragraph shown by `abctl <name> --help`. */
  readonly details?: string;
  readonly options: readonly OptionSpec[];
  readonly load: () => Promise<{ run: CommandRun }>;
}

const json: OptionSpec = { flags: '--json', description: 'print machine-readable JSON instead of text' };
const pluginName: OptionSpec = { flags: '--name <plugin>', description: 'plugin or extension name', required: true };

const PLUGIN_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'describePlugins',
    summary: 'show every plugin and extension as a tree with version, state, parent and aliases',
    details: 'Loads every enabled plugin (so activation failures show as "broken" with the reason).',
    options: [json],
    load: () => import('./commands/describe-plugins.js'),
  },
  {
    name: 'installPlugins',
    summary: 'install or upgrade the plugins a product installation ships',
    details:
      'DIR is a product home (plugins in DIR/plugins/introspector/<name>/), one plugin directory, or a directory of plugin directories.\n' +
      'Older installed versions are upgraded; an extension whose parent is not installed is refused.',
    options: [
      { flags: '--from <dir>', description: 'product home or plugin directory to install from', required: true },
      { flags: '--allow-downgrade', description: 'replace a newer installed version (refused while its appliances exist)' },
      json,
    ],
    load: () => import('./commands/install-plugins.js'),
  },
  {
    name: 'uninstallPlugin',
    summary: 'delete an installed plugin and, recursively, its extensions',
    details: 'Refused while the catalog has appliances created by the plugin or one of its extensions.',
    options: [pluginName, json],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.uninstall })),
  },
  {
    name: 'enablePlugin',
    summary: 'enable a disabled plugin or extension',
    details: 'Refused while a parent of the extension is disabled.',
    options: [pluginName, { flags: '--recursive', description: 'also enable every extension below it' }, json],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.enable })),
  },
  {
    name: 'disablePlugin',
    summary: 'disable a plugin or extension and, recursively, its extensions',
    options: [pluginName, json],
    load: () => import('./commands/plugin-state.js').then((m) => ({ run: m.disable })),
  },
];

const INTROSPECTION_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'captureFileSets',
    summary: 'capture (or capture again) the file sets of an introspected appliance',
    details: 'Reads the files from the reference host the appliance was introspected on; the previous archives stay until the new ones are complete.',
    options: [
      { flags: '--appliance <name>', description: 'appliance (or atomic assembly) in the catalog', required: true },
      { flags: '--codec <codec>', description: 'archive compression: gzip, zstd or none', defaultValue: 'gzip' },
      { flags: '--host <user@host[:port]>', description: 'reference host, when it is not the one recorded at introspection' },
      { flags: '--identity-file <file>', description: 'SSH private key' },
      { flags: '--known-hosts <file>', description: 'known_hosts file to check the host key against' },
      json,
    ],
    load: () => import('./commands/capture-file-sets.js'),
  },
  {
    name: 'discover',
    summary: 'list the product installations each plugin finds on a host, with the parameters to introspect them',
    options: [
      { flags: '--host <user@host[:port]>', description: 'host to look at over SSH (default: this machine)' },
      { flags: '--identity-file <file>', description: 'SSH private key' },
      { flags: '--known-hosts <file>', description: 'known_hosts file to check the host key against' },
      json,
    ],
    load: () => import('./commands/discover.js'),
  },
];

export const COMMANDS: readonly CommandSpec[] = [...PLUGIN_COMMANDS, ...INTROSPECTION_COMMANDS, ...CATALOG_COMMANDS];

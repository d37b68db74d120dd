/**
 * Commands for plugin authors, described statically like COMMANDS (help needs no code); each
 * implementation is imported when it runs (cli/commands/create-plugin.ts, validate-plugin.ts).
 */
import type { ScaffoldRequest } from '../services/authoring/scaffold.js';
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption } from './command-spec.js';

export interface ValidatePluginOptions extends JsonOption {
  readonly dir: string;
  readonly with?: readonly string[];
  readonly sample?: string;
  readonly param?: readonly string[];
}

/** The scaffold's request as options (type-only: help loads no scaffold code). */
export type CreatePluginOptions = JsonOption & Pick<ScaffoldRequest, 'name' | 'parent' | 'alias' | 'dir' | 'typescript' | 'product'>;

export const AUTHORING_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<CreatePluginOptions>({
    name: 'createPlugin',
    summary: 'write a new plugin or extension (manifest, entry module with dehydrate and rehydrate, a test, a README)',
    details:
      'The directory DIR/<name> must not exist; if writing fails, what was written is removed.\n' +
      'The result passes abctl validatePlugin as it is; docs/plugin-authoring.md explains every file.',
    options: [
      { flags: '--name <name>', description: 'plugin name (letters, digits, "_", "-"; it becomes introspect<name>)', required: true },
      { flags: '--parent <plugin>', description: 'make an extension of this plugin (or extension)' },
      { flags: '--alias', description: 'extensions: also offer introspect<name>, running the whole chain' },
      { flags: '--dir <dir>', description: 'directory to create the plugin in (default: the current directory)' },
      { flags: '--typescript', description: 'write index.ts and a tsconfig.json (compiled to build/index.js)' },
      { flags: '--product <text>', description: 'what the plugin introspects, for descriptions (default: the name)' },
      jsonOption,
    ],
    load: () => import('./commands/create-plugin.js'),
  }),
  defineCommand<ValidatePluginOptions>({
    name: 'validatePlugin',
    summary: 'check a plugin directory before installing it: manifest, loading, services, parameters, templates, hook results',
    details:
      'Every problem is listed at once with its file (or hook) and a fix; exit 0 when there is none, else 1.\n' +
      'An extension is checked with its parent: from --with, else beside DIR, else the instance\'s plugins.\n' +
      'With --sample, the chain introspects that directory (nothing is stored) and every hook\'s result is checked.',
    arguments: [{ key: 'dir', name: '<dir>', description: 'the plugin directory (holding plugin.config)' }],
    options: [
      { flags: '--with <dirs...>', description: 'other plugin directories to load with it (its parent, its extensions)' },
      { flags: '--sample <dir>', description: 'a product installation to run dehydrate and the other hooks on' },
      { flags: '--param <name=value...>', description: 'job parameter values for the sample run (a single required path parameter defaults to --sample)' },
      jsonOption,
    ],
    load: () => import('./commands/validate-plugin.js'),
  }),
];

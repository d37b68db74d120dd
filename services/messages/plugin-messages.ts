/**
 * Which directory a plugin's messages come from, by plugin name. Activation records it; the
 * contexts handed to hooks and the conversion of a hook's thrown error (plugin-hooks.ts, which
 * knows only the plugin's name) look it up. Kept per process like the registry's own state: a
 * name is unique among the plugins one process activates (the latest activation wins).
 */
import { createMessages, userLocale } from '../../core/messages.js';
import type { PluginMessages } from '../../core/plugin-contract.js';
import { messagesIn } from './message-files.js';

const directories = new Map<string, string>();

/** Records where plugin `name` lives and returns its messages. */
export function registerPluginMessages(name: string, directory: string): PluginMessages {
  directories.set(name, directory);
  return messagesIn(directory);
}

/** The messages of an activated plugin; for one abctl never activated, messages without files (ids shown). */
export function pluginMessages(name: string): PluginMessages {
  const dir = directories.get(name);
  return dir === undefined ? createMessages(() => undefined, userLocale(process.env)) : messagesIn(dir);
}

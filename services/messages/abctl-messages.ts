/**
 * abctl's own texts (`messages/<locale>.properties` at the top of the package), through the same
 * lookup as a plugin's. Importing this module reads nothing; the first text asked for reads the
 * files of the user's locale chain, so only a command that shows such a text pays for them.
 */
import { createMessages, userLocale } from '../../core/messages.js';
import type { PluginMessages } from '../../core/plugin-contract.js';
import { projectRoot } from '../instance.js';
import { messagesIn } from './message-files.js';

export function abctlMessages(env: Readonly<Record<string, string | undefined>> = process.env): PluginMessages {
  let root: string;
  try {
    root = projectRoot();
  } catch {
    // Reporting an error must not fail for want of its frame's text: ids are shown instead.
    return createMessages(() => undefined, userLocale(env));
  }
  return messagesIn(root, env);
}

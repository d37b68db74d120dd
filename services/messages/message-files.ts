/**
 * Reads `messages/<locale>.properties` of a plugin (or of abctl) for core/messages.ts. Lookups
 * are synchronous (`messages.format` returns a string), so a file is read with readFileSync the
 * first time one of its ids is needed, and kept for the life of the process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogOf, createMessages, parseMessageFile, userLocale, type MessageCatalogSource } from '../../core/messages.js';
import type { PluginMessages } from '../../core/plugin-contract.js';

export const MESSAGES_DIR = 'messages';

const catalogs = new Map<string, ReadonlyMap<string, string> | undefined>();

/**
 * One locale's texts of a directory's `messages/`, undefined when there is no such file. A file
 * that cannot be read counts as absent here (a text must not fail the error it describes);
 * `abctl validatePlugin` reports it.
 */
function catalogIn(dir: string, locale: string): ReadonlyMap<string, string> | undefined {
  const file = join(dir, MESSAGES_DIR, `${locale}.properties`);
  if (catalogs.has(file)) return catalogs.get(file);
  let catalog: ReadonlyMap<string, string> | undefined;
  try {
    catalog = catalogOf(parseMessageFile(readFileSync(file, 'utf8'), file, locale).parsed);
  } catch {
    catalog = undefined;
  }
  catalogs.set(file, catalog);
  return catalog;
}

const byDir = new Map<string, PluginMessages>();

/** The messages of the plugin (or program) whose directory is `dir`, in the locale the environment names. */
export function messagesIn(dir: string, env: Readonly<Record<string, string | undefined>> = process.env): PluginMessages {
  const locale = userLocale(env);
  const key = `${locale}\0${dir}`;
  let messages = byDir.get(key);
  if (messages === undefined) {
    const source: MessageCatalogSource = (l) => catalogIn(dir, l);
    messages = createMessages(source, locale);
    byDir.set(key, messages);
  }
  return messages;
}

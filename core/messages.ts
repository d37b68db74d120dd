/**
 * Localized messages. A plugin, and abctl itself, keeps user-facing texts in
 * `messages/<locale>.properties` (`id=text`, `{0}`, `{1}`... for arguments, Java properties
 * syntax, UTF-8). This module holds the rules only: which locale the user wants, which file
 * answers an id, how arguments fill in, what makes a set of files consistent. No I/O:
 * services/messages reads the files and hands their text in.
 *
 * Formatting is deliberately small (no ICU): `{n}` is replaced by the n-th argument as
 * `String(arg)`; a `{n}` without an argument, and any other brace, stay as written.
 */
import { parseLines } from 'dot-properties';
import type { MessageArgument, MessageErrorOptions, PluginMessages } from './plugin-contract.js';
import { BAD_UNICODE_ESCAPE, lineLocator } from './plugin-manifest.js';
import { DEFAULT_LOCALE, LOCALE_PATTERN, normalizeLocale } from './locale.js';

// The locale rules live in core/locale.ts, which bin/abctl's quick path loads without the parser.
export { DEFAULT_LOCALE, normalizeLocale, userLocale } from './locale.js';

/** Message ids: what a `.properties` key and a JavaScript string both hold without escaping. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_.-]+$/;
const PLACEHOLDER = /\{(\d+)\}/g;

/** Files asked in turn for an id: `fr_CA` -> `fr_CA`, `fr`, `en`. */
export function localeChain(locale: string): string[] {
  const parts = locale.split('_');
  const chain: string[] = [];
  for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join('_'));
  if (!chain.includes(DEFAULT_LOCALE)) chain.push(DEFAULT_LOCALE);
  return chain;
}

/** `{n}` replaced by `String(args[n])`; placeholders without an argument stay. */
export function formatMessage(template: string, args: readonly unknown[]): string {
  return template.replace(PLACEHOLDER, (whole, i: string) => (Number(i) < args.length ? String(args[Number(i)]) : whole));
}

/** What the user sees when no file has the id: the id, with its arguments so nothing is lost. */
export function fallbackText(id: string, args: readonly unknown[]): string {
  return args.length === 0 ? id : `${id}(${args.map((a) => (typeof a === 'string' ? JSON.stringify(a) : String(a))).join(', ')})`;
}

/** The argument numbers a text uses (`{0} and {2}` -> [0, 2]). */
export function placeholdersOf(text: string): number[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

/** One locale's texts by id, or undefined when the plugin has no file for that locale. */
export type MessageCatalogSource = (locale: string) => ReadonlyMap<string, string> | undefined;

/**
 * The `messages` object of a plugin (or of abctl) for one locale. `source` is asked for each
 * locale of the chain the first time an id is looked up, so nothing is read before a text is
 * needed.
 */
export function createMessages(source: MessageCatalogSource, locale: string): PluginMessages {
  const chain = localeChain(locale);
  let catalogs: readonly ReadonlyMap<string, string>[] | undefined;
  const text = (id: string): string | undefined => {
    catalogs ??= chain.map(source).filter((c): c is ReadonlyMap<string, string> => c !== undefined);
    for (const c of catalogs) {
      const t = c.get(id);
      if (t !== undefined) return t;
    }
    return undefined;
  };
  const format = (id: string, ...args: readonly MessageArgument[]): string => {
    const t = text(id);
    return t === undefined ? fallbackText(id, args) : formatMessage(t, args);
  };
  return Object.freeze({
    locale,
    has: (id: string) => text(id) !== undefined,
    format,
    error: (id: string, args: readonly MessageArgument[] = [], options: MessageErrorOptions = {}): Error => {
      const hint = options.hint === undefined ? undefined : text(options.hint) !== undefined ? format(options.hint, ...args) : options.hint;
      // The fields abctl reads off any thrown Error (services/plugin-hooks.ts asPluginError).
      return Object.assign(new Error(format(id, ...args)), {
        id,
        code: options.code ?? id,
        args: [...args],
        ...(hint !== undefined ? { hint } : {}),
        ...(options.where !== undefined ? { where: options.where } : {}),
      });
    },
  });
}

// ---------------------------------------------------------------- message files

/** `fr_CA.properties` -> `fr_CA`; undefined when the name is not a locale file's. */
export function localeOfFileName(name: string): string | undefined {
  const m = /^(.+)\.properties$/.exec(name);
  return m && LOCALE_PATTERN.test(m[1]!) && normalizeLocale(m[1]) === m[1] ? m[1] : undefined;
}

export interface MessageEntry {
  readonly id: string;
  readonly text: string;
  readonly line: number;
}

export interface MessageProblem {
  readonly code: string;
  readonly message: string;
  /** `file:line`, or the file. */
  readonly where: string;
  readonly hint: string;
}

export interface ParsedMessageFile {
  readonly file: string;
  readonly locale: string;
  readonly entries: readonly MessageEntry[];
}

/** A message file's ids and texts (the last of a repeated id wins, as in Java), with what is wrong in it. */
export function parseMessageFile(text: string, file: string, locale: string): { readonly parsed: ParsedMessageFile; readonly problems: MessageProblem[] } {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lineOf = lineLocator(src);
  const problems: MessageProblem[] = [];
  const byId = new Map<string, MessageEntry>();
  for (const node of parseLines(src, true)) {
    if (node.type !== 'PAIR') continue;
    const pair = node as unknown as { key: string; value: string; range: [number, number, number, number] };
    const line = lineOf(pair.range[0]);
    const where = `${file}:${line}`;
    if (BAD_UNICODE_ESCAPE.test(src.slice(pair.range[0], pair.range[3]))) {
      problems.push({ code: 'MESSAGES_SYNTAX', message: 'malformed \\u escape (it needs exactly four hex digits)', where, hint: 'write \\u and four hex digits (\\u00e9), or the character itself: the file is read as UTF-8' });
    }
    if (!MESSAGE_ID_PATTERN.test(pair.key)) {
      problems.push({
        code: 'MESSAGES_ID_INVALID',
        message: pair.key === '' ? 'a line has a text but no id' : `message id "${pair.key}" has characters other than letters, digits, "_", "." and "-"`,
        where,
        hint: 'write each message as id=text, e.g. conf_missing=No configuration in {0}',
      });
      continue;
    }
    const earlier = byId.get(pair.key);
    if (earlier !== undefined) {
      problems.push({ code: 'MESSAGES_DUPLICATE_ID', message: `message id "${pair.key}" is defined twice (lines ${earlier.line} and ${line}); the last one would win`, where, hint: 'keep one of the two lines' });
    }
    byId.set(pair.key, { id: pair.key, text: pair.value, line });
  }
  return { parsed: { file, locale, entries: [...byId.values()] }, problems };
}

/** The texts of a parsed file by id, as `createMessages` takes them. */
export function catalogOf(parsed: ParsedMessageFile): ReadonlyMap<string, string> {
  return new Map(parsed.entries.map((e) => [e.id, e.text]));
}

/**
 * What makes a plugin's message files consistent: English exists (every lookup ends there),
 * every other locale's ids are English ids, and each translation uses the same `{n}` as the
 * English text (a missing one drops an argument, an extra one prints `{n}` as is).
 */
export function checkMessageFiles(files: readonly ParsedMessageFile[], englishFile: string): MessageProblem[] {
  if (files.length === 0) return [];
  const en = files.find((f) => f.locale === DEFAULT_LOCALE);
  if (en === undefined) {
    return [{ code: 'MESSAGES_ENGLISH_MISSING', message: `there are message files (${files.map((f) => f.locale).join(', ')}) but no English one`, where: englishFile, hint: 'add messages/en.properties with every id: users of other locales fall back to it' }];
  }
  const english = new Map(en.entries.map((e) => [e.id, e]));
  const problems: MessageProblem[] = [];
  for (const f of files) {
    if (f === en) continue;
    for (const e of f.entries) {
      const where = `${f.file}:${e.line}`;
      const base = english.get(e.id);
      if (base === undefined) {
        problems.push({ code: 'MESSAGES_ID_UNKNOWN', message: `message id "${e.id}" is not in ${en.file}`, where, hint: `add ${e.id} to the English file, or remove it here (a misspelt id is never shown)` });
        continue;
      }
      const want = placeholdersOf(base.text).join(',');
      const got = placeholdersOf(e.text).join(',');
      if (want !== got) {
        const show = (s: string): string => (s === '' ? 'none' : s.split(',').map((n) => `{${n}}`).join(' '));
        problems.push({
          code: 'MESSAGES_PLACEHOLDERS',
          message: `"${e.id}" uses ${show(got)} but the English text (line ${base.line}) uses ${show(want)}`,
          where,
          hint: 'use the same {n} placeholders as the English text, in any order',
        });
      }
    }
  }
  return problems;
}

/**
 * Ids a plugin's code passes to `messages.format(...)`, `.error(...)` or `.has(...)` as string
 * literals: found by a plain scan (no parser), so ids built at run time are not seen.
 */
export function messageIdsInCode(source: string): { readonly id: string; readonly line: number }[] {
  const lineOf = lineLocator(source);
  const out: { id: string; line: number }[] = [];
  for (const m of source.matchAll(/\bmessages\s*\.\s*(?:format|error|has)\s*\(\s*(['"`])([A-Za-z0-9_.-]+)\1/g)) {
    out.push({ id: m[2]!, line: lineOf(m.index) });
  }
  return out;
}

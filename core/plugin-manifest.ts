/**
 * plugin.config: the Java-style properties file every plugin directory ships. This module
 * turns its text into a validated PluginManifest, or into the complete list of what is
 * wrong with it (every problem at once, each naming file and key, with a fix), after the
 * Delphix SDK's validator. No I/O: discovery reads the file and hands the text in.
 */
import { parseLines } from 'dot-properties';
import type { PluginManifest, PluginProblem } from './plugin-model.js';
import { compareVersions, explainVersion, isVersion, VERSION_RULE } from './version.js';

/** Problem codes produced here. Tree and discovery codes live with their modules. */
export const ManifestProblemCode = Object.freeze({
  /** A line the properties format accepts but that cannot mean anything (value without key, bad `\u` escape). */
  SYNTAX: 'PLUGIN_CONFIG_SYNTAX',
  /** A known key appears more than once; Java would silently keep the last one. */
  DUPLICATE_KEY: 'PLUGIN_CONFIG_DUPLICATE_KEY',
  /** A known key written with the wrong letter case (keys are case-sensitive). */
  KEY_CASE: 'PLUGIN_CONFIG_KEY_CASE',
  /** A required key is absent or empty. */
  KEY_MISSING: 'PLUGIN_CONFIG_KEY_MISSING',
  /** A value does not follow its key's format. */
  INVALID_VALUE: 'PLUGIN_CONFIG_INVALID_VALUE',
  /** `name` differs from the directory name. */
  NAME_MISMATCH: 'PLUGIN_NAME_MISMATCH',
  /** Keys that contradict each other (minParentVersion without parentName, min > max, own parent). */
  CONFLICT: 'PLUGIN_CONFIG_CONFLICT',
});

// ---------------------------------------------------------------- names

export const PLUGIN_NAME_MAX_LENGTH = 64;
/** A plugin name becomes the command `introspect<name>`, hence the tight alphabet. */
export const PLUGIN_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const PLUGIN_NAME_RULE =
  `a plugin name starts with an ASCII letter, continues with letters, digits, "_" or "-", ` +
  `and has at most ${PLUGIN_NAME_MAX_LENGTH} characters`;

export function isPluginName(s: string): boolean {
  return PLUGIN_NAME_PATTERN.test(s);
}

/** Why `s` is not a plugin name, or undefined when it is one. */
export function explainPluginName(s: string): string | undefined {
  if (PLUGIN_NAME_PATTERN.test(s)) return undefined;
  if (s === '') return 'it is empty';
  if (s.length > PLUGIN_NAME_MAX_LENGTH) return `it has ${s.length} characters (at most ${PLUGIN_NAME_MAX_LENGTH})`;
  if (!/^[A-Za-z]/.test(s)) return `it starts with "${s.charAt(0)}" instead of a letter`;
  const bad = /[^A-Za-z0-9_-]/.exec(s);
  return bad ? `it contains "${bad[0]}"` : 'it does not match the plugin name grammar';
}

// ---------------------------------------------------------------- the keys

export type PluginConfigKeyFormat = 'pluginName' | 'version' | 'text' | 'modulePath';

export interface PluginConfigKey {
  readonly key: keyof PluginManifest;
  readonly required: boolean;
  /** Applied when the key is absent or empty; undefined means "not set". */
  readonly defaultValue: string | undefined;
  readonly format: PluginConfigKeyFormat;
  readonly description: string;
}

/** Every key the framework reads, in documentation order. Other keys are ignored. */
export const PLUGIN_CONFIG_KEYS: readonly PluginConfigKey[] = Object.freeze([
  {
    key: 'name',
    required: true,
    defaultValue: undefined,
    format: 'pluginName',
    description: 'Name of the plugin or extension; must equal its directory name. It becomes the command introspect<name>.',
  },
  {
    key: 'version',
    required: true,
    defaultValue: undefined,
    format: 'version',
    description: 'Version of the plugin implementation (not of the product it introspects).',
  },
  {
    key: 'description',
    required: false,
    defaultValue: '',
    format: 'text',
    description: 'A short description naming the product(s) the plugin works on.',
  },
  {
    key: 'minProductVersion',
    required: false,
    defaultValue: undefined,
    format: 'version',
    description: 'Oldest product version supported. Informational only.',
  },
  {
    key: 'maxProductVersion',
    required: false,
    defaultValue: undefined,
    format: 'version',
    description: 'Newest product version supported, usually the version it ships with. Informational only.',
  },
  {
    key: 'minSdkVersion',
    required: false,
    defaultValue: '1.0',
    format: 'version',
    description: 'Oldest plugin SDK version the plugin works with; abctl refuses plugins needing a newer SDK.',
  },
  {
    key: 'parentName',
    required: false,
    defaultValue: undefined,
    format: 'pluginName',
    description: 'Extensions only: the plugin or extension this one runs after. Absent for top-level plugins.',
  },
  {
    key: 'minParentVersion',
    required: false,
    defaultValue: undefined,
    format: 'version',
    description: 'Extensions only: oldest parent version this extension works with. Default: any version.',
  },
  {
    key: 'main',
    required: false,
    defaultValue: 'index.js',
    format: 'modulePath',
    description: 'Entry module, relative to the plugin directory (.js, .mjs or .cjs).',
  },
] satisfies PluginConfigKey[]);

const KNOWN_KEYS: ReadonlyMap<string, PluginConfigKey> = new Map(PLUGIN_CONFIG_KEYS.map((k) => [k.key, k]));
const KNOWN_KEYS_LOWER: ReadonlyMap<string, string> = new Map(PLUGIN_CONFIG_KEYS.map((k) => [k.key.toLowerCase(), k.key]));

// ---------------------------------------------------------------- parsing

export interface ParsePluginConfigOptions {
  /** Path of the plugin.config, used in every problem's `where`. */
  readonly file: string;
  /** Name of the directory holding it; `name` must equal it. */
  readonly dirName: string;
}

export interface PluginConfigParseResult {
  /** Present only when `problems` is empty. */
  readonly manifest?: PluginManifest;
  readonly problems: PluginProblem[];
  /** Keys present in the file that the framework does not read (for `--json` debugging). */
  readonly ignoredKeys: string[];
}

interface Entry {
  readonly value: string;
  readonly line: number;
}

/**
 * Parses and validates the text of a plugin.config. Values are trimmed (stray trailing
 * blanks are invisible in an editor); an empty optional value counts as absent, so its
 * default applies.
 */
export function parsePluginConfig(text: string, opts: ParsePluginConfigOptions): PluginConfigParseResult {
  const { file, dirName } = opts;
  const problems: PluginProblem[] = [];
  const at = (key: string): string => `${file}: ${key}`;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lineOf = lineLocator(src);

  const entries = new Map<string, Entry>();
  const ignored: string[] = [];
  for (const node of parseLines(src, true)) {
    if (node.type !== 'PAIR') continue;
    const pair = node as unknown as { key: string; value: string; range: [number, number, number, number] };
    const line = lineOf(pair.range[0]);
    const raw = src.slice(pair.range[0], pair.range[3]);
    if (BAD_UNICODE_ESCAPE.test(raw)) {
      problems.push({
        code: ManifestProblemCode.SYNTAX,
        message: `line ${line} has a malformed \\u escape (it needs exactly four hex digits)`,
        where: `${file}:${line}`,
        hint: 'write \\u followed by four hex digits, e.g. \\u00e9, or write the character itself',
      });
    }
    const key = pair.key;
    if (key === '') {
      if (pair.value.trim() !== '') {
        problems.push({
          code: ManifestProblemCode.SYNTAX,
          message: `line ${line} has a value but no key`,
          where: `${file}:${line}`,
          hint: 'write lines as "key = value", e.g. "version = 1.0"',
        });
      }
      continue;
    }
    if (!KNOWN_KEYS.has(key)) {
      ignored.push(key);
      const proper = KNOWN_KEYS_LOWER.get(key.toLowerCase());
      if (proper !== undefined) {
        problems.push({
          code: ManifestProblemCode.KEY_CASE,
          message: `key "${key}" (line ${line}) is not recognised; keys are case-sensitive`,
          where: at(key),
          hint: `rename it to "${proper}"`,
        });
      }
      continue;
    }
    const previous = entries.get(key);
    if (previous !== undefined) {
      problems.push({
        code: ManifestProblemCode.DUPLICATE_KEY,
        message: `key "${key}" is set twice (lines ${previous.line} and ${line})`,
        where: at(key),
        hint: `keep one "${key}" line and delete the other`,
      });
    }
    entries.set(key, { value: pair.value.trim(), line });
  }

  // Value of a key after defaults; records a problem when a required key is empty or absent.
  const value = (k: PluginConfigKey): string | undefined => {
    const v = entries.get(k.key)?.value;
    if (v !== undefined && v !== '') return v;
    if (k.required) {
      const example = k.key === 'name' ? (isPluginName(dirName) ? dirName : 'myplugin') : '1.0';
      problems.push({
        code: ManifestProblemCode.KEY_MISSING,
        message: v === undefined ? `required key "${k.key}" is missing` : `required key "${k.key}" is empty`,
        where: at(k.key),
        hint: `add a line "${k.key} = ${example}"`,
      });
    }
    return k.defaultValue;
  };
  const key = (name: keyof PluginManifest): PluginConfigKey => KNOWN_KEYS.get(name) as PluginConfigKey;

  const checkVersion = (k: PluginConfigKey): string | undefined => {
    const v = value(k);
    if (v === undefined) return undefined;
    const why = explainVersion(v);
    if (why === undefined) return v;
    problems.push({
      code: ManifestProblemCode.INVALID_VALUE,
      message: `"${v}" is not a valid version: ${why}`,
      where: at(k.key),
      hint: VERSION_RULE,
    });
    return undefined;
  };
  const checkName = (k: PluginConfigKey): string | undefined => {
    const v = value(k);
    if (v === undefined) return undefined;
    const why = explainPluginName(v);
    if (why === undefined) return v;
    problems.push({
      code: ManifestProblemCode.INVALID_VALUE,
      message: `"${v}" is not a valid plugin name: ${why}`,
      where: at(k.key),
      hint: PLUGIN_NAME_RULE,
    });
    return undefined;
  };

  const name = checkName(key('name'));
  if (name !== undefined && name !== dirName) {
    problems.push({
      code: ManifestProblemCode.NAME_MISMATCH,
      message: `name "${name}" differs from the directory name "${dirName}"`,
      where: at('name'),
      hint: `set "name = ${dirName}" or rename the directory to "${name}"`,
    });
  }
  const version = checkVersion(key('version'));
  const description = value(key('description')) ?? '';
  const minProductVersion = checkVersion(key('minProductVersion'));
  const maxProductVersion = checkVersion(key('maxProductVersion'));
  if (
    minProductVersion !== undefined &&
    maxProductVersion !== undefined &&
    compareVersions(minProductVersion, maxProductVersion) > 0
  ) {
    problems.push({
      code: ManifestProblemCode.CONFLICT,
      message: `maxProductVersion ${maxProductVersion} is lower than minProductVersion ${minProductVersion}`,
      where: at('maxProductVersion'),
      hint: 'swap the two values or correct one of them',
    });
  }
  const minSdkVersion = checkVersion(key('minSdkVersion'));
  const parentName = checkName(key('parentName'));
  if (parentName !== undefined && parentName === name) {
    problems.push({
      code: ManifestProblemCode.CONFLICT,
      message: `plugin "${name}" names itself as its parent`,
      where: at('parentName'),
      hint: 'remove parentName for a top-level plugin, or name the plugin this extension runs after',
    });
  }
  const minParentVersion = checkVersion(key('minParentVersion'));
  if (entries.get('minParentVersion')?.value && !entries.get('parentName')?.value) {
    problems.push({
      code: ManifestProblemCode.CONFLICT,
      message: 'minParentVersion is set but parentName is not; only extensions have a parent',
      where: at('minParentVersion'),
      hint: 'add "parentName = <parent plugin>" if this is an extension, otherwise remove minParentVersion',
    });
  }
  const main = checkMain(value(key('main')) ?? 'index.js', at('main'), problems);

  if (problems.length > 0 || name === undefined || version === undefined || minSdkVersion === undefined || main === undefined) {
    return { problems, ignoredKeys: ignored };
  }
  const manifest: PluginManifest = Object.freeze({
    name,
    version,
    description,
    minProductVersion,
    maxProductVersion,
    minSdkVersion,
    parentName,
    minParentVersion,
    main,
  });
  return { manifest, problems, ignoredKeys: ignored };
}

/** A backslash run of odd length, then `u` not followed by four hex digits. */
export const BAD_UNICODE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?![0-9a-fA-F]{4})/;

/**
 * `main` must stay inside the plugin directory: it is resolved against it and imported,
 * so an absolute path or a `..` that climbs out would load foreign code. Returns the
 * normalised relative path, or undefined after recording a problem.
 */
function checkMain(v: string, where: string, problems: PluginProblem[]): string | undefined {
  const fail = (why: string): undefined => {
    problems.push({
      code: ManifestProblemCode.INVALID_VALUE,
      message: `main "${v}" ${why}`,
      where,
      hint: 'give a path relative to the plugin directory, with forward slashes, ending in .js, .mjs or .cjs (default "index.js")',
    });
    return undefined;
  };
  if (v.includes('\0')) return fail('contains a NUL character');
  if (v.includes('\\')) return fail('contains a backslash; use "/" between directories');
  if (v.startsWith('/') || /^[A-Za-z]:/.test(v)) return fail('is an absolute path');
  const out: string[] = [];
  for (const seg of v.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return fail('leaves the plugin directory');
      out.pop();
    } else {
      out.push(seg);
    }
  }
  const normal = out.join('/');
  if (!/\.(?:m|c)?js$/.test(normal) || v.endsWith('/')) return fail('is not a .js, .mjs or .cjs file');
  return normal;
}

/** Maps a source offset to a 1-based line number (\n, \r\n and lone \r all end a line). */
export function lineLocator(src: string): (offset: number) => number {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let i = 0; i < src.length; i++) {
        const c = src.charCodeAt(i);
        if (c === 10 || (c === 13 && src.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
      }
    }
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * Answers recorded at build time (scripts/shipped-records.mjs) for the bundled plugins as shipped,
 * so that the first `abctl --help` or `abctl describePlugins` of a new instance is as quick as
 * the later ones (issue 14): an instance keeps its own records only once a command has run. They
 * are used only when nothing of the instance can change the answer (no plugin state, no link
 * record, no installed plugin) and the shipped part (build, SDK, the bundled plugins and abctl's
 * messages) is what the build saw.
 *
 * That part is compared by content, not by inode or times as the instance's own records are: a
 * copy installed by npm (or moved, or unpacked from a tarball) has new inodes and times and
 * another path, yet the same answer. The paths that differ between copies and instances (the
 * instance's, and the bundled plugins' directory that describePlugins --json prints) are holes
 * in the recorded texts, filled at run time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userLocale } from '../core/locale.js';
import { SDK_VERSION } from '../core/plugin-contract.js';
import { projectRoot, type InstanceLayout } from '../services/instance.js';
import { BUILD_ID, readRecord } from './start-cache.js';

/** The index of the help texts: which text answers which terminal width. */
export const SHIPPED_HELP_FILE = 'help.json';
/** The bytes of abctl's messages and the bundled plugins as the build saw them, in the order of the describe key's lines. */
export const SHIPPED_CONTENT_FILE = 'content.bin';

/**
 * `abctl --help` is commander's text of the built-in commands, which depends on the build and the
 * terminal's width, then the instance's introspect commands, which depend on the plugins.
 */
export interface ShippedHelpIndex {
  /** `build <id>`: the texts below are this build's. */
  readonly key: string;
  /** Text number when stdout is not a terminal. */
  readonly pipe: number;
  /** Text number for every terminal of `wideFrom` columns or more (nothing wraps there). */
  readonly wide: number;
  readonly wideFrom: number;
  /** Text number by terminal width below `wideFrom`. */
  readonly byWidth: readonly number[];
  /** The introspect commands' lines for a new instance, while the bundled plugins are the build's (shippedHelpKey). */
  readonly list: { readonly key: string; readonly text: string };
}

/** A path that differs between copies of abctl or between instances. */
export type PathHole = 'instance' | 'plugins';

/** A text cut where paths go: pieces[0], the path of holes[0], pieces[1], and so on. */
export interface CutText {
  readonly pieces: readonly string[];
  readonly holes: readonly PathHole[];
}

export interface ShippedDescription {
  readonly key: string;
  /** stdout of `describePlugins --json` and of `describePlugins`. */
  readonly json: CutText;
  readonly text: CutText;
}

export function shippedDir(): string {
  return join(projectRoot(), 'dist', 'cli-bundle', 'shipped');
}

export const shippedHelpText = (n: number): string => `help-${n}.txt`;
export const shippedDescribeFile = (locale: string): string => `describe-${locale}.json`;

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The key of the bundled plugins' introspect commands: the plugin scan reads only the entries of
 * the directory and each one's plugin.config, so those (a few hundred bytes each) are the key
 * itself. Undefined when not built (the CLI run from its sources).
 */
export function shippedHelpKey(bundledPluginsDir: string): string | undefined {
  if (BUILD_ID === undefined) return undefined;
  let names: string[];
  try {
    names = readdirSync(bundledPluginsDir).sort();
  } catch {
    names = [];
  }
  const configs = names.map((n) => `${n} ${JSON.stringify(readOrNull(join(bundledPluginsDir, n, 'plugin.config')))}`);
  return [`build ${BUILD_ID}`, `sdk ${SDK_VERSION}`, ...configs].join('\n');
}

/** Beyond these the trees are not compared and describePlugins goes the normal way. */
const MAX_ENTRIES = 5000;
const MAX_BYTES = 64 * 1024 * 1024;

interface Tree {
  readonly lines: string[];
  readonly files: string[];
  bytes: number;
}

/** Adds a line per entry below `dir` (path from `label`, and a file's size) and the files in that order; false when over budget or unreadable. */
function list(dir: string, label: string, tree: Tree): boolean {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return false;
  }
  for (const name of names) {
    if (tree.lines.length >= MAX_ENTRIES) return false;
    const path = join(dir, name);
    let s;
    try {
      // stat, not lstat: what a link points to is what runs.
      s = statSync(path);
    } catch {
      return false;
    }
    if (s.isDirectory()) {
      tree.lines.push(`${label}${name}/`);
      if (!list(path, `${label}${name}/`, tree)) return false;
    } else {
      tree.lines.push(`${label}${name} ${s.size}`);
      tree.files.push(path);
      tree.bytes += s.size;
      if (tree.bytes > MAX_BYTES) return false;
    }
  }
  return true;
}

/** The shipped inputs of describePlugins: a key of names and sizes, and the bytes, read only when asked. */
export interface ShippedContent {
  readonly key: string;
  read(): Buffer;
}

/**
 * What describePlugins' answer on a new instance is made of, besides the locale: the build, the
 * SDK, abctl's messages and every file of the bundled plugins (their code runs at activation).
 * The key holds names and sizes; the bytes are compared with the build's copy only once the key
 * matched. Compared rather than hashed: loading node:crypto alone costs more (about 4 ms) than
 * reading and comparing the ~250 KB (about 2.5 ms), on a path whose whole budget is a few ms.
 */
export function shippedDescribeContent(bundledPluginsDir: string): ShippedContent | undefined {
  if (BUILD_ID === undefined) return undefined;
  const tree: Tree = { lines: [], files: [], bytes: 0 };
  if (!list(join(projectRoot(), 'messages'), 'messages/', tree) || !list(bundledPluginsDir, 'plugins/', tree)) return undefined;
  return { key: [`build ${BUILD_ID}`, `sdk ${SDK_VERSION}`, ...tree.lines].join('\n'), read: () => Buffer.concat(tree.files.map((f) => readFileSync(f))) };
}

/** True only for a path known not to exist: one that cannot be read may still change the answer. */
function absent(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** An instance whose plugins are the bundled ones, all enabled: no state, no links, nothing installed. */
export function pristineInstance(layout: InstanceLayout): boolean {
  if (!absent(join(layout.configDir, 'plugin-state.json')) || !absent(join(layout.configDir, 'plugin-links.json'))) return false;
  try {
    return readdirSync(layout.pluginsDir).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function helpIndex(): ShippedHelpIndex | undefined {
  return BUILD_ID === undefined ? undefined : readRecord<ShippedHelpIndex>(join(shippedDir(), SHIPPED_HELP_FILE), `build ${BUILD_ID}`);
}

function builtInText(index: ShippedHelpIndex, width: number | undefined): string | undefined {
  const n = width === undefined ? index.pipe : width >= index.wideFrom ? index.wide : index.byWidth[width];
  return typeof n === 'number' ? readFileSync(join(shippedDir(), shippedHelpText(n)), 'utf8') : undefined;
}

/** The built-in part of `abctl --help` for a terminal of `width` columns (undefined: not a terminal), when the build recorded it. */
export function builtInHelpFor(width: number | undefined): string | undefined {
  const index = helpIndex();
  return index && builtInText(index, width);
}

/** The whole `abctl --help` of a new instance with the shipped plugins, when the build recorded it. */
export function shippedHelp(layout: InstanceLayout, width: number | undefined): string | undefined {
  const index = helpIndex();
  if (index === undefined || index.list.key !== shippedHelpKey(layout.bundledPluginsDir) || !pristineInstance(layout)) return undefined;
  const builtIn = builtInText(index, width);
  return builtIn === undefined ? undefined : `${builtIn}${index.list.text}`;
}

/** The text with its holes filled; undefined when the record is not of this shape. */
function fill(cut: CutText | undefined, paths: Readonly<Record<PathHole, string>>): string | undefined {
  if (!cut || !Array.isArray(cut.pieces) || !Array.isArray(cut.holes)) return undefined;
  const pieces: readonly string[] = cut.pieces;
  const holes: readonly PathHole[] = cut.holes;
  if (pieces.length !== holes.length + 1) return undefined;
  let text = pieces[0]!;
  for (let i = 0; i < holes.length; i++) {
    const path: string | undefined = paths[holes[i]!];
    if (typeof path !== 'string') return undefined;
    text += path + pieces[i + 1]!;
  }
  return text;
}

/** describePlugins' output for this instance when the build recorded it and the shipped files are the ones it saw. */
export function shippedDescription(layout: InstanceLayout, env: NodeJS.ProcessEnv, json: boolean): string | undefined {
  // The plugins' directory goes into the text as the CLI prints it: only a plain absolute path is filled in as is.
  if (!pristineInstance(layout) || resolve(layout.bundledPluginsDir) !== layout.bundledPluginsDir) return undefined;
  const content = shippedDescribeContent(layout.bundledPluginsDir);
  if (content === undefined) return undefined;
  const record = readRecord<ShippedDescription>(join(shippedDir(), shippedDescribeFile(userLocale(env))), content.key);
  if (record === undefined) return undefined;
  let seen: Buffer;
  try {
    seen = readFileSync(join(shippedDir(), SHIPPED_CONTENT_FILE));
  } catch {
    return undefined;
  }
  if (!seen.equals(content.read())) return undefined;
  // jsonText writes strings with JSON.stringify: the paths go in escaped the same way.
  const as = (path: string): string => (json ? JSON.stringify(path).slice(1, -1) : path);
  return fill(json ? record.json : record.text, { instance: as(layout.root), plugins: as(layout.bundledPluginsDir) });
}

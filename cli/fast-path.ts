/**
 * Answers that bin/abctl gives before the CLI loads (issue 14): `abctl --version`, and `abctl --help`
 * (also `-h`, `help`) and `abctl describePlugins [--json]` printed from the record an earlier full
 * run kept under the instance, while the record's key still matches, else, on a new instance with
 * the bundled plugins as shipped, from the one the build made (cli/shipped-records.ts). Built on its own into a CommonJS file
 * (dist/cli-bundle/fast.cjs) that bin/abctl, itself CommonJS, requires: Node then starts without
 * its ES module loader, commander, inversify or any plugin code. Anything else, or a missing or
 * stale record, goes the normal way, which stores the record for the next run.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceLayout } from '../services/instance.js';
import { describeCacheFile, describeCacheKey, type DescribeRecord } from './describe-cache.js';
import { HELP_TEXT_FILE, helpTextKey, helpWidth, instanceLayoutFor, type HelpTextRecord } from './help-cache.js';
import { shippedDescribeContent, shippedDescription, shippedHelp, shippedHelpKey } from './shipped-records.js';
import { BUILD_ID, readRecord } from './start-cache.js';
import { ABCTL_VERSION } from './version.js';

const HELP_WORDS = new Set(['--help', '-h', 'help']);

/**
 * The global `--instance DIR` (or `--instance=DIR`) when it leads the line, and the words after it:
 * the records are per instance, so a line naming one is answered from that instance's.
 */
export function leadingInstance(argv: readonly string[]): { instance: string | undefined; rest: readonly string[] } {
  const [first, second] = argv;
  if (first === '--instance' && second !== undefined && second !== '' && !second.startsWith('-')) return { instance: second, rest: argv.slice(2) };
  if (first?.startsWith('--instance=') && first.length > '--instance='.length) return { instance: first.slice('--instance='.length), rest: argv.slice(1) };
  return { instance: undefined, rest: argv };
}

/** `abctl [--instance DIR] --help` (or `-h`, `help`), nothing else on the line: the instance flag's value, or '' for none. */
export function helpRequest(argv: readonly string[]): { instance: string | undefined } | undefined {
  const { instance, rest } = leadingInstance(argv);
  return rest.length === 1 && HELP_WORDS.has(rest[0]!) ? { instance } : undefined;
}

/** The kept output for `argv`, or undefined when this command is not answered here. */
export function cachedOutput(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (argv.length === 1 && argv[0] === '--version') return `${ABCTL_VERSION}\n`;
  const { instance, rest: words } = leadingInstance(argv);
  const [word, ...rest] = words;
  if (word === undefined) return undefined;
  if (rest.length === 0 && HELP_WORDS.has(word)) {
    const layout = instanceLayoutFor(instance);
    const key = helpTextKey(layout);
    if (key === undefined) return undefined;
    // The instance's own record first, then the build's (a new instance with the bundled plugins).
    return readRecord<HelpTextRecord>(join(layout.cacheDir, HELP_TEXT_FILE), key)?.text ?? shippedHelp(layout, helpWidth());
  }
  const json = rest.length === 1 && rest[0] === '--json';
  if (word === 'describePlugins' && (rest.length === 0 || json)) {
    const layout = instanceLayoutFor(instance);
    const key = describeCacheKey(layout, env);
    if (key === undefined) return undefined;
    const record = readRecord<DescribeRecord>(describeCacheFile(layout), key);
    if (record !== undefined) return json ? record.json : record.text;
    return shippedDescription(layout, env, json);
  }
  return undefined;
}

/** Prints the kept output and says true, or says false (the caller runs the CLI). */
export function answerFromCache(argv: readonly string[]): boolean {
  let text: string | undefined;
  try {
    text = cachedOutput(argv);
  } catch {
    return false; // a cache must never be the reason a command fails
  }
  if (typeof text !== 'string') return false;
  process.stdout.write(text);
  return true;
}

/**
 * The keys scripts/shipped-records.mjs stores its records under, for the bundled plugins of this
 * copy of abctl (they hold the build id, which only the bundles know), and the bytes the describe
 * records are checked against.
 */
export function shippedKeys(): { build: string | undefined; help: string | undefined; describe: string | undefined; content: Buffer | undefined } {
  const bundled = instanceLayout(tmpdir()).bundledPluginsDir;
  const content = shippedDescribeContent(bundled);
  return { build: BUILD_ID && `build ${BUILD_ID}`, help: shippedHelpKey(bundled), describe: content?.key, content: content?.read() };
}

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
import { describeCacheFile, describeCacheKeys, shippedDescribeKey, type DescribeRecord } from './describe-cache.js';
import { HELP_TEXT_FILE, helpTextKey, helpWidth, instanceLayoutFor, type HelpTextRecord } from './help-cache.js';
import { shippedDescription, shippedHelp, shippedHelpKey } from './shipped-records.js';
import { BUILD_ID, readRecord } from './start-cache.js';
import { ABCTL_VERSION } from './version.js';

const HELP_WORDS = new Set(['--help', '-h', 'help']);

/** `abctl --help`, `-h` or `help`, nothing else on the line. */
export function isHelpRequest(argv: readonly string[]): boolean {
  return argv.length === 1 && HELP_WORDS.has(argv[0]!);
}

/** The kept output for `argv`, or undefined when this command is not answered here. */
export function cachedOutput(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const [word, ...rest] = argv;
  if (word === undefined) return undefined;
  if (rest.length === 0 && word === '--version') return `${ABCTL_VERSION}\n`;
  if (isHelpRequest(argv)) {
    const layout = instanceLayoutFor(undefined);
    const key = helpTextKey(layout);
    if (key === undefined) return undefined;
    // The instance's own record first, then the build's (a new instance with the bundled plugins).
    return readRecord<HelpTextRecord>(join(layout.cacheDir, HELP_TEXT_FILE), key)?.text ?? shippedHelp(layout, helpWidth());
  }
  const json = rest.length === 1 && rest[0] === '--json';
  if (word === 'describePlugins' && (rest.length === 0 || json)) {
    const layout = instanceLayoutFor(undefined);
    const keys = describeCacheKeys(layout, env);
    if (keys === undefined) return undefined;
    const record = readRecord<DescribeRecord>(describeCacheFile(layout), keys.key);
    if (record !== undefined) return json ? record.json : record.text;
    return shippedDescription(layout, keys.shipped, env, json);
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
 * copy of abctl: they hold the build id, which only the bundles know.
 */
export function shippedKeys(): { build: string | undefined; help: string | undefined; describe: string | undefined } {
  const bundled = instanceLayout(tmpdir()).bundledPluginsDir;
  return { build: BUILD_ID && `build ${BUILD_ID}`, help: shippedHelpKey(bundled), describe: shippedDescribeKey(bundled) };
}

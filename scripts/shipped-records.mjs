// Records, at build time, what `abctl --help` and `abctl describePlugins [--json]` print on a new
// instance with the bundled plugins as shipped (cli/shipped-records.ts reads them): a user's first
// command is then as quick as the later ones. Run by build-cli.mjs after the bundles are made;
// `node scripts/shipped-records.mjs [root [locale...]]` records for the copy of abctl at root (tests
// use it on a copy). The answers are made by the built CLI itself, so they are byte for byte what it prints:
//  - --help's built-in part for every terminal width up to the one where nothing wraps any more
//    (commander wraps to the terminal), and for a pipe (identical texts are stored once), and the
//    bundled plugins' introspect commands; the built-in part also serves instances with other
//    plugins (cli/help-quick.ts);
//  - describePlugins for a few common locales (the plugins are told the locale when they start),
//    run twice, on instances at different paths and with the bundled plugins at different paths
//    (as in a copy installed elsewhere): the outputs must differ only where those paths are
//    printed, else that locale gets no record;
//  - the bytes of the bundled plugins and messages, which those records are checked against.
// Any other case (another locale, a changed plugin, an instance with state) goes the normal way.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// Other locales go the cold way on their first run; a test records only the ones it needs.
const LOCALES = process.argv.length > 3 ? process.argv.slice(3) : ['en', 'en_US', 'en_GB', 'fr', 'fr_FR'];

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const bundleDir = join(root, 'dist', 'cli-bundle');
const out = join(bundleDir, 'shipped');
const require = createRequire(import.meta.url);

// The user's settings must not reach the recorded answers.
for (const name of ['AB_INSTANCE', 'AB_BUNDLED_PLUGINS', 'AB_DEBUG', 'LC_ALL', 'LC_MESSAGES', 'LANG']) delete process.env[name];

const { shippedKeys } = require(join(bundleDir, 'fast.cjs'));
// Taken before anything runs: a plugin changed meanwhile makes the records stale, not wrong.
const keys = shippedKeys();
await rm(out, { recursive: true, force: true });
const work = await mkdtemp(join(tmpdir(), 'abctl-shipped-'));
// The records only save time: whatever goes wrong here is said and leaves that record out (the
// commands then run the long way), rather than failing the build.
const skip = (what) => process.stderr.write(`shipped-records: ${what}; not recorded\n`);
try {
  const help = await helpTexts().catch((err) => void skip(`abctl --help: ${err.message}`));
  // The second runs' bundled plugins: a copy at a path that JSON escapes.
  const copied = join(work, 'bundled "b"', 'plugins');
  await cp(join(root, 'plugins'), copied, { recursive: true });
  const descriptions = await Promise.all(LOCALES.map(async (locale) => [locale, await description(locale, copied)]));
  const after = shippedKeys();
  if (!same(after, keys)) skip('the bundled plugins changed while their answers were made (build again)');
  else await write(help, descriptions);
} finally {
  await rm(work, { recursive: true, force: true });
}

function same(a, b) {
  return a.build === b.build && a.help === b.help && a.describe === b.describe && a.content !== undefined && b.content !== undefined && a.content.equals(b.content);
}

async function write(help, descriptions) {
  await mkdir(out, { recursive: true });
  if (keys.describe !== undefined) await writeFile(join(out, 'content.bin'), keys.content);
  if (help) {
    await Promise.all(help.texts.map((text, n) => writeFile(join(out, `help-${n}.txt`), text)));
    await writeFile(join(out, 'help.json'), JSON.stringify({ key: keys.build, ...help.index }));
  }
  for (const [locale, record] of descriptions) {
    if (record && keys.describe !== undefined) await writeFile(join(out, `describe-${locale}.json`), JSON.stringify({ key: keys.describe, ...record }));
  }
}

/**
 * --help for a pipe and for each terminal width, made in this process by the bundle itself: the
 * built-in part (commander's text, which the width changes) by width, and the introspect
 * commands' lines, checked against the whole text main() prints at every width.
 */
async function helpTexts() {
  const { loadBundle } = require(join(root, 'bin', 'load-bundle.cjs'));
  const { main, lendImport, builtInHelpText } = loadBundle(join(bundleDir, 'main.cjs'));
  lendImport((specifier) => import(specifier));
  process.env.AB_INSTANCE = join(work, 'help-instance'); // never created: an instance with nothing in it
  const stdout = process.stdout;
  const write = stdout.write;
  // What commander and cli/help-cache.ts read to know the terminal's width.
  const atWidth = (width) => {
    Object.defineProperty(stdout, 'isTTY', { value: width !== undefined, configurable: true });
    Object.defineProperty(stdout, 'columns', { value: width, configurable: true });
  };
  const whole = async () => {
    let text = '';
    stdout.write = (chunk) => {
      text += chunk;
      return true;
    };
    try {
      await main(['--help']);
    } finally {
      stdout.write = write;
    }
    if (process.exitCode) {
      process.exitCode = 0; // this script's own exit code stays its own
      throw new Error('main() failed');
    }
    return text;
  };
  atWidth(undefined);
  const builtInPipe = builtInHelpText();
  const wholePipe = await whole();
  const list = wholePipe.slice(builtInPipe.length);
  if (!wholePipe.startsWith(builtInPipe) || !list.includes('introspect')) throw new Error('abctl --help is not its built-in part followed by the bundled plugins\' commands');
  const texts = [];
  const number = (text) => (texts.includes(text) ? texts.indexOf(text) : texts.push(text) - 1);
  const at = async (width) => {
    atWidth(width);
    const builtIn = builtInHelpText();
    if ((await whole()) !== `${builtIn}${list}`) throw new Error(`abctl --help at ${width ?? 'no'} columns is not its built-in part followed by the plugins' commands`);
    return builtIn;
  };
  const pipe = number(await at(undefined));
  const unwrapped = await at(100_000);
  // From the longest line of the unwrapped text on, commander has nothing to wrap.
  const wideFrom = Math.max(...unwrapped.split('\n').map((l) => l.length));
  if ((await at(wideFrom)) !== unwrapped) throw new Error(`abctl --help at ${wideFrom} columns is not the unwrapped text`);
  const byWidth = [];
  for (let w = 0; w < wideFrom; w++) byWidth.push(number(await at(w)));
  return { index: { pipe, wide: number(unwrapped), wideFrom, byWidth, list: { key: keys.help, text: list } }, texts };
}

/** describePlugins in `locale`, cut where the instance's and the plugins' paths are printed; undefined when it cannot be. */
async function description(locale, copied) {
  const runs = await Promise.all([
    run(locale, join(work, `${locale}-a`), join(root, 'plugins')),
    run(locale, join(work, `${locale} "b"`, 'instance'), copied),
  ]);
  if (runs.some((r) => r === undefined)) return undefined;
  const [a, b] = runs.map(({ record, instance, plugins }) => ({
    json: cut(record.json, [['instance', escaped(instance)], ['plugins', escaped(plugins)]]),
    text: cut(record.text, [['instance', instance], ['plugins', plugins]]),
  }));
  if (!a.json.holes.includes('instance') || !a.text.holes.includes('instance') || JSON.stringify(a) !== JSON.stringify(b)) {
    skip(`describePlugins (${locale}) depends on more than the instance's and the plugins' paths`);
    return undefined;
  }
  return a;
}

/** A path as describePlugins --json writes it (JSON.stringify). */
function escaped(path) {
  return JSON.stringify(path).slice(1, -1);
}

/** `text` cut at every occurrence of the paths: { pieces, holes } (cli/shipped-records.ts, CutText). */
function cut(text, paths) {
  const pieces = [];
  const holes = [];
  let at = 0;
  for (;;) {
    let next;
    for (const [hole, path] of paths) {
      const i = text.indexOf(path, at);
      if (i >= 0 && (next === undefined || i < next.i || (i === next.i && path.length > next.path.length))) next = { i, hole, path };
    }
    if (next === undefined) break;
    pieces.push(text.slice(at, next.i));
    holes.push(next.hole);
    at = next.i + next.path.length;
  }
  pieces.push(text.slice(at));
  return { pieces, holes };
}

/** One cold describePlugins on a new, empty instance; the record it keeps has both forms. */
async function run(locale, instance, plugins) {
  await mkdir(instance, { recursive: true });
  const env = { ...process.env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: plugins, LC_ALL: locale };
  try {
    await promisify(execFile)(process.execPath, [join(root, 'bin', 'abctl'), 'describePlugins', '--json'], { env, timeout: 120_000 });
  } catch (err) {
    return void skip(`describePlugins (${locale}) failed: ${err.message}`);
  }
  try {
    return { instance, plugins, record: JSON.parse(await readFile(join(instance, 'cache', 'plugins-description.json'), 'utf8')) };
  } catch {
    // Only a clean run is kept (a plugin broken at activation, a failed stop).
    return void skip(`describePlugins (${locale}) did not run clean`);
  }
}

/**
 * `abctl createBase`: a Debian root file system made to fit the plugins that will run on it.
 * debootstrap (minbase) installs every Debian package the plugins' requirements name, then the
 * users and groups they require are added as system accounts, and the same check createTemplate
 * runs (`validateBase`) must pass before the directory is put in place: a base made here is
 * accepted by construction. The work happens in `OUT.partial-*`, renamed to OUT at the end, so a
 * failed or interrupted build leaves nothing at OUT and no partial directory behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError, environmentError } from '../../core/errors.js';
import type { BaseImageRequirement } from '../../core/plugin-contract.js';
import { runProcess } from '../deploy/process-run.js';

export const DEFAULT_SUITE = 'bookworm';
/** Used when this machine's apt sources name no mirror for the suite. */
export const FALLBACK_MIRROR = 'http://deb.debian.org/debian';
/** debootstrap took 77 s here for a plain minbase; with a JRE and the products' libraries a few minutes. */
export const DEFAULT_BASE_TIMEOUT_MS = 20 * 60_000;
const ACCOUNT_TIMEOUT_MS = 60_000;

/** What a base must hold, gathered from the plugins' declared requirements. */
export interface BaseContents {
  /** Debian packages to install (their minimum versions are checked afterwards, with the rest). */
  readonly packages: readonly string[];
  readonly groups: readonly string[];
  readonly users: readonly string[];
}

/** Packages, users and groups out of requirements; host-only ones (kernel parameters, swap) have nothing to install. */
export function contentsOf(requirements: Iterable<BaseImageRequirement>, include: readonly string[] = []): BaseContents {
  const packages = new Set(include);
  const groups = new Set<string>();
  const users = new Set<string>();
  for (const r of requirements) {
    if (r.kind === 'package') packages.add(r.name);
    else if (r.kind === 'group') groups.add(r.name);
    else if (r.kind === 'user') users.add(r.name);
  }
  return { packages: [...packages].sort(), groups: [...groups].sort(), users: [...users].sort() };
}

/** One `deb` source: its URI and suites (from a deb822 `.sources` stanza or a one-line `sources.list` entry). */
interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
}

/** The `deb` sources of apt configuration texts: deb822 stanzas and one-line entries. */
export function aptSources(texts: readonly { readonly name: string; readonly text: string }[]): AptSource[] {
  const out: AptSource[] = [];
  for (const { name, text } of texts) {
    if (name.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (key: string): string | undefined => new RegExp(`^${key}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
        if (!(field('Types') ?? '').split(/\s+/).includes('deb') || /^Enabled:\s*no/im.test(stanza)) continue;
        const suites = (field('Suites') ?? '').split(/\s+/).filter(Boolean);
        for (const uri of (field('URIs') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
      }
    } else {
      for (const line of text.split('\n')) {
        // deb [options] URI SUITE COMPONENT...
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m) out.push({ uri: m[1] as string, suites: [m[2] as string] });
      }
    }
  }
  return out;
}

/** The `deb` sources of this machine's apt configuration (`sources.list` and `sources.list.d/`). */
export function aptSourcesHere(etcApt = '/etc/apt'): AptSource[] {
  const texts: { name: string; text: string }[] = [];
  const read = (file: string): void => {
    try {
      texts.push({ name: file, text: readFileSync(file, 'utf8') });
    } catch {
      // an unreadable or missing file names no source
    }
  };
  read(join(etcApt, 'sources.list'));
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) if (f.endsWith('.sources') || f.endsWith('.list')) read(join(dir, f));
  return aptSources(texts);
}

/** The mirror apt uses here for `suite` (its main archive, not `-security`/`-updates`), else Debian's own. */
export function defaultMirror(suite: string = DEFAULT_SUITE, etcApt = '/etc/apt'): string {
  const found = aptSourcesHere(etcApt).find((s) => s.suites.includes(suite));
  return (found?.uri ?? FALLBACK_MIRROR).replace(/\/+$/, '');
}

/** Where apt here takes `suite`'s updates from: `SUITE-updates` and `SUITE-security`, each with its archive. */
export function updateSources(suite: string, sources: readonly AptSource[]): { readonly uri: string; readonly suite: string }[] {
  const out: { uri: string; suite: string }[] = [];
  for (const extra of [`${suite}-updates`, `${suite}-security`]) {
    const found = sources.find((s) => s.suites.includes(extra));
    if (found) out.push({ uri: found.uri.replace(/\/+$/, ''), suite: extra });
  }
  return out;
}

export interface BaseBuildRequest {
  readonly out: string;
  readonly suite?: string;
  readonly mirror?: string;
  /**
   * Suites upgraded from after the bootstrap (debootstrap knows one archive and one suite):
   * default, the `-updates` and `-security` suites this machine's apt uses, so that the base's
   * packages are as new as the reference's (plugins ask for the versions they were found at).
   */
  readonly updates?: readonly { readonly uri: string; readonly suite: string }[];
  readonly contents: BaseContents;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** abctl's own steps (`step`), and each line debootstrap and the account tools print (`output`). */
  readonly onProgress?: (line: string, kind: 'step' | 'output') => void;
  /**
   * The requirement check of the finished root file system (at its temporary path; `out` is
   * where it will be): throws to refuse it, and then nothing is kept.
   */
  readonly check?: (dir: string, out: string) => Promise<void>;
  /**
   * Makes the root file system in `dir` (which does not exist yet). Default: debootstrap. Tests
   * put a small copied root file system here instead (a real debootstrap takes minutes).
   */
  readonly bootstrap?: (dir: string, run: BootstrapRun) => Promise<void>;
}

/** What a bootstrap step is given besides its directory. */
export interface BootstrapRun {
  readonly suite: string;
  readonly mirror: string;
  readonly packages: readonly string[];
  readonly updates: readonly { readonly uri: string; readonly suite: string }[];
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs: number;
  /** A line of the tool's output. */
  readonly onProgress: (line: string) => void;
}

export interface BuiltBase {
  readonly dir: string;
  readonly suite: string;
  readonly mirror: string;
  readonly updates: readonly string[];
  readonly packages: readonly string[];
  readonly groups: readonly string[];
  readonly users: readonly string[];
  readonly seconds: number;
}

/** Splits a program's output into lines for onProgress. */
function lines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim() !== '') onLine(p.trimEnd());
  };
}

/** Runs a program; a non-zero exit is a user error with the end of its output. */
async function runChecked(command: string, args: readonly string[], what: string, where: string, timeoutMs: number, signal: AbortSignal | undefined, onProgress: (line: string) => void, hint: string): Promise<void> {
  const tail: string[] = [];
  const code = await runProcess({
    command,
    args,
    timeoutMs,
    signal,
    what,
    where,
    onOutput: lines((l) => {
      tail.push(l);
      if (tail.length > 8) tail.shift();
      onProgress(l);
    }),
  }).catch((err: unknown) => {
    if (err instanceof UserError && err.code === 'DEPLOY_COMMAND_FAILED') throw new UserError('BASE_TOOL_MISSING', `${command} cannot be run on this machine`, { where: command, hint, cause: err });
    throw err;
  });
  if (code !== 0) throw new UserError('BASE_BUILD_FAILED', `${what} failed (exit ${code}):\n  ${tail.join('\n  ')}`, { where, hint });
}

/**
 * debootstrap --variant=minbase with every package, then an upgrade from the update suites (in
 * the new system, with services kept from starting); downloaded packages and package lists are
 * dropped afterwards: they would only make every image bigger.
 */
export async function debootstrap(dir: string, run: BootstrapRun): Promise<void> {
  const args = ['--variant=minbase', ...(run.packages.length > 0 ? [`--include=${run.packages.join(',')}`] : []), run.suite, dir, run.mirror];
  await runChecked('debootstrap', args, `debootstrap ${run.suite} from ${run.mirror}`, dir, run.timeoutMs, run.signal, run.onProgress, `install it (apt-get install debootstrap); a package that does not exist in ${run.suite} is named above: fix the plugin's requirement or --include`);
  if (run.updates.length > 0) {
    const lines = [`deb ${run.mirror} ${run.suite} main`, ...run.updates.map((u) => `deb ${u.uri} ${u.suite} main`)];
    await writeFile(join(dir, 'etc/apt/sources.list'), `${lines.join('\n')}\n`);
    // Debian's convention for a chroot: invoke-rc.d asks policy-rc.d, and 101 means "do not start".
    const policy = join(dir, 'usr/sbin/policy-rc.d');
    await writeFile(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    const hint = `the lines above say why; the update suites (${run.updates.map((u) => u.suite).join(', ')}) must be reachable (--no-updates leaves them out)`;
    // Some maintainer scripts need /proc (OpenJDK's refuses to configure without it), as debootstrap mounts it for its own.
    const proc = join(dir, 'proc');
    await runChecked('mount', ['-t', 'proc', 'proc', proc], `mounting /proc in the new base`, dir, ACCOUNT_TIMEOUT_MS, run.signal, run.onProgress, 'run createBase as root');
    try {
      for (const step of [['update', '-qq'], ['-y', '-qq', '-o', 'Dpkg::Options::=--force-confold', 'upgrade']]) {
        await runChecked('chroot', [dir, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...step], `apt-get ${step.at(-1)} in the new base`, dir, run.timeoutMs, run.signal, run.onProgress, hint);
      }
    } finally {
      await rm(policy, { force: true });
      await runProcess({ command: 'umount', args: ['--lazy', proc], timeoutMs: ACCOUNT_TIMEOUT_MS, what: `umount ${proc}`, where: proc }).catch(() => 1);
    }
  }
  for (const cache of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    const d = join(dir, cache);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.deb') || (cache.endsWith('lists') && f !== 'lock' && f !== 'partial')) await rm(join(d, f), { recursive: true, force: true });
  }
}

/** Mount points at or below `dir` (debootstrap mounts /proc and /sys in the target while it works), deepest first. */
function mountsUnder(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const decode = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes a partial root file system: its mounts first, so nothing of /proc or /sys is walked. */
async function discard(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await runProcess({ command: 'umount', args: ['--lazy', m], timeoutMs: ACCOUNT_TIMEOUT_MS, what: `umount ${m}`, where: m }).catch(() => 1);
  if (mountsUnder(dir).length > 0) return; // never recurse into a mounted file system; the error already says what failed
  await rm(dir, { recursive: true, force: true });
}

/** `name` is in the colon-separated account file `file` of the root file system. */
async function hasAccount(file: string, name: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').some((l) => l.split(':')[0] === name);
}

/**
 * System groups, then system users (each in the group of its own name when there is one, else a
 * new one), with the base's own login.defs: shadow's `--prefix` writes into the directory
 * without running anything from it. Accounts the base already has are left as they are.
 */
async function addAccounts(dir: string, contents: BaseContents, signal: AbortSignal | undefined, onProgress: (line: string, kind: 'step' | 'output') => void): Promise<void> {
  const output = (line: string): void => onProgress(line, 'output');
  const hint = 'useradd and groupadd come with Debian\'s passwd package; install it on this machine';
  for (const g of contents.groups) {
    if (await hasAccount(join(dir, 'etc/group'), g)) continue;
    onProgress(`adding group ${g}`, 'step');
    await runChecked('groupadd', ['--prefix', dir, '--system', g], `groupadd --system ${g}`, dir, ACCOUNT_TIMEOUT_MS, signal, output, hint);
  }
  for (const u of contents.users) {
    if (await hasAccount(join(dir, 'etc/passwd'), u)) continue;
    const group = (await hasAccount(join(dir, 'etc/group'), u)) ? ['--gid', u] : ['--user-group'];
    onProgress(`adding user ${u}`, 'step');
    await runChecked('useradd', ['--prefix', dir, '--system', ...group, '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', u], `useradd --system ${u}`, dir, ACCOUNT_TIMEOUT_MS, signal, output, hint);
  }
}

export async function buildBase(req: BaseBuildRequest): Promise<BuiltBase> {
  const started = Date.now();
  const out = resolve(req.out);
  const suite = req.suite ?? DEFAULT_SUITE;
  const mirror = (req.mirror ?? defaultMirror(suite)).replace(/\/+$/, '');
  const onProgress = req.onProgress ?? (() => {});
  if (!/^[a-z][a-z0-9-]*$/.test(suite)) throw new UserError('BASE_BUILD_INVALID', `"${suite}" is not a Debian suite name`, { where: '--suite', hint: 'give a code name such as bookworm' });
  if (!/^(https?|file):\/\/\S+$/.test(mirror)) throw new UserError('BASE_BUILD_INVALID', `"${mirror}" is not a mirror URL`, { where: '--mirror', hint: 'give an http(s):// or file:// URL of a Debian archive, e.g. http://deb.debian.org/debian' });
  for (const p of req.contents.packages) {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) throw new UserError('BASE_BUILD_INVALID', `"${p}" is not a Debian package name`, { where: p, hint: 'package names are lower case letters, digits and + - .; fix --include or the plugin requirement naming it' });
  }
  if (existsSync(out)) throw new UserError('BASE_BUILD_INVALID', `${out} already exists`, { where: out, hint: `give a new --out directory, or remove this one first (rm -rf ${out})` });
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UserError('BASE_BUILD_INVALID', 'making a root file system needs root (debootstrap installs packages owned by other users)', { hint: 'run abctl createBase as root (sudo)' });
  }
  try {
    await mkdir(dirname(out), { recursive: true });
  } catch (err) {
    throw environmentError(err, dirname(out)) ?? err;
  }
  const partial = `${out}.partial-${randomBytes(4).toString('hex')}`;
  const updates = req.updates ?? updateSources(suite, aptSourcesHere());
  const run: BootstrapRun = { suite, mirror, packages: req.contents.packages, updates, signal: req.signal, timeoutMs: req.timeoutMs ?? DEFAULT_BASE_TIMEOUT_MS, onProgress: (line) => onProgress(line, 'output') };
  try {
    onProgress(`bootstrapping ${suite} from ${mirror} into ${partial}${run.packages.length ? ` with ${run.packages.join(', ')}` : ''}${updates.length ? `, then upgrading from ${updates.map((u) => u.suite).join(', ')}` : ''}`, 'step');
    await (req.bootstrap ?? debootstrap)(partial, run);
    await addAccounts(partial, req.contents, req.signal, onProgress);
    // The directory's own mode becomes the container's `/`.
    await chmod(partial, 0o755);
    onProgress('checking the requirements', 'step');
    await req.check?.(partial, out);
    if (existsSync(out)) throw new UserError('BASE_BUILD_INVALID', `${out} appeared while the base was being made`, { where: out, hint: 'another command wrote it; remove it or give another --out' });
    await rename(partial, out);
  } catch (err) {
    await discard(partial);
    // Ctrl-C: exit 130 like every interrupted job; a base is made again from the start, it does not resume.
    if (req.signal?.aborted) throw new UserError('JOB_INTERRUPTED', `createBase interrupted; nothing was left at ${out}: run it again to start over`, { where: out, cause: err });
    throw environmentError(err, partial) ?? err;
  }
  return { dir: out, suite, mirror, updates: updates.map((u) => u.suite), packages: req.contents.packages, groups: req.contents.groups, users: req.contents.users, seconds: (Date.now() - started) / 1000 };
}

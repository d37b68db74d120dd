/**
 * Globbing for both host kinds with ONE matcher: fast-glob. Locally it walks the real file
 * system. Remotely we list the tree once with `find` over SSH and let fast-glob walk that
 * listing through its `fs` adapter option, so a remote glob costs one round trip instead of
 * one per directory, and local and remote results agree by construction (same brace,
 * extglob, dot and ignore rules) instead of by a second matcher that merely tries to.
 */
import type { Dirent, Stats } from 'node:fs';
import { posix } from 'node:path';
import fg from 'fast-glob';
import { hostError } from './common.js';
import type { GlobOptions, HostEntryType } from '../../core/reference-host.js';

export function normalizePatterns(patterns: string | readonly string[], host: string): string[] {
  const list = typeof patterns === 'string' ? [patterns] : [...patterns];
  for (const p of list) {
    const body = p.startsWith('!') ? p.slice(1) : p;
    if (body.length === 0 || body.startsWith('/') || body.split('/').includes('..') || body.includes('\0')) {
      throw hostError('HOST_BAD_GLOB', `glob pattern ${JSON.stringify(p)} must be relative to cwd and must not contain '..'`, host, {
        hint: 'set options.cwd to the directory to search and give patterns below it, e.g. "conf/**/*.xml"',
      });
    }
  }
  return list;
}

/**
 * How deep a listing must go for these patterns to see every candidate; undefined when a
 * pattern can reach any depth (globstar, braces and extglobs may hide extra segments).
 */
export function listingDepth(patterns: readonly string[]): number | undefined {
  let max = 0;
  for (const raw of patterns) {
    if (raw.startsWith('!')) continue;
    const p = raw.replace(/^(\.\/)+/, '');
    if (p.includes('**') || /[{(]/.test(p)) return undefined;
    max = Math.max(max, p.split('/').filter((s) => s.length > 0 && s !== '.').length);
  }
  return max;
}

interface GlobbedEntry {
  readonly rel: string;
  readonly type: HostEntryType;
}

/** Runs fast-glob with the semantics documented on `GlobOptions`; `fsAdapter` replaces node:fs. */
export async function runGlob(
  host: string,
  patterns: readonly string[],
  options: GlobOptions,
  cwd: string,
  linkTargetType: (absolutePath: string) => Promise<HostEntryType | undefined>,
  fsAdapter?: Partial<fg.FileSystemAdapter>,
  /** Directories read at once; fast-glob's default is the core count, too few when each read is a network round trip. */
  concurrency?: number,
): Promise<string[]> {
  let entries: fg.Entry[];
  try {
    entries = await fg(patterns as string[], {
      cwd,
      dot: options.dot ?? false,
      ignore: [...(options.ignore ?? [])],
      onlyFiles: false,
      followSymbolicLinks: false,
      objectMode: true,
      ...(fsAdapter ? { fs: fsAdapter } : {}),
      ...(concurrency ? { concurrency } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw hostError('HOST_PERMISSION_DENIED', `permission denied while globbing: cannot read directory ${e.path ?? cwd}`, host, {
        hint: 'connect as a user who can read the whole product installation, or narrow the patterns',
        cause: err,
      });
    }
    throw err;
  }
  const found: GlobbedEntry[] = entries.map((e) => ({
    rel: e.path,
    type: e.dirent.isSymbolicLink() ? 'symlink' : e.dirent.isFile() ? 'file' : e.dirent.isDirectory() ? 'directory' : 'other',
  }));
  const wanted = options.type ?? 'file';
  const kept: string[] = [];
  for (const entry of found) {
    let type = entry.type;
    if (wanted !== 'any' && type === 'symlink') type = (await linkTargetType(joinPath(cwd, entry.rel))) ?? 'other';
    if (wanted === 'any' || type === wanted) kept.push(entry.rel);
  }
  return kept.sort();
}

export function joinPath(dir: string, rel: string): string {
  return dir === '/' ? `/${rel}` : `${dir}/${rel}`;
}

// ------------------------------------------------------------------ remote listing

/** argv for the listing, run with cwd = the glob's cwd: `<lstat type><stat type><relative path>\0`. */
export function findArgv(depth: number | undefined): string[] {
  return ['find', '.', '-mindepth', '1', ...(depth === undefined ? [] : ['-maxdepth', String(depth)]), '-printf', '%y%Y%P\\0'];
}

export interface ListedEntry {
  readonly type: HostEntryType;
  /** What `stat` would say: a symlink's target type; undefined when dangling. */
  readonly targetType: HostEntryType | undefined;
}

export interface Listing {
  readonly cwd: string;
  readonly entries: ReadonlyMap<string, ListedEntry>;
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Directories find could not read; reading them fails with EACCES as it would locally. */
  readonly denied: ReadonlySet<string>;
}

function findTypeChar(c: string | undefined): HostEntryType | undefined {
  switch (c) {
    case 'f':
      return 'file';
    case 'd':
      return 'directory';
    case 'l':
      return 'symlink';
    case 'N':
    case 'L':
    case '?':
    case undefined:
      return undefined;
    default:
      return 'other';
  }
}

/** Parses `find` output (see findArgv) and its LC_ALL=C stderr into a listing. */
export function parseListing(cwd: string, stdout: Buffer, stderr: string, host: string): Listing {
  const entries = new Map<string, ListedEntry>();
  const children = new Map<string, string[]>([[cwd, []]]);
  const denied = new Set<string>();
  for (const record of stdout.toString('utf8').split('\0')) {
    if (record.length < 3) continue;
    const type = findTypeChar(record[0]) ?? 'other';
    const rel = record.slice(2);
    const abs = joinPath(cwd, rel);
    entries.set(abs, { type, targetType: type === 'symlink' ? findTypeChar(record[1]) : type });
    if (type === 'directory') children.set(abs, children.get(abs) ?? []);
    const parent = posix.dirname(abs);
    const list = children.get(parent);
    if (list) list.push(posix.basename(abs));
    else children.set(parent, [posix.basename(abs)]);
  }
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue;
    // Only find's own lines count: a remote login shell's startup files may print too (a busy
    // pyenv rehash says so on every command), and that says nothing about the listing.
    if (!line.startsWith('find: ')) continue;
    // Something vanished while find walked (a running product rotating logs): skipped, as fast-glob skips ENOENT locally.
    if (/^find: .*: No such file or directory$/.test(line)) continue;
    // ‘ and ’ as escapes: one such character in the CLI bundle doubles the memory V8 holds its text in.
    const m = /^find: [\u2018'](.*)[\u2019']: Permission denied$/.exec(line);
    if (!m?.[1]) {
      throw hostError('HOST_GLOB_FAILED', `listing ${cwd} failed: ${line}`, host, {
        hint: 'remote globbing needs GNU find (findutils) on the reference host',
      });
    }
    denied.add(m[1] === '.' ? cwd : joinPath(cwd, m[1].replace(/^\.\//, '')));
  }
  return { cwd, entries, children, denied };
}

export function errno(code: 'ENOENT' | 'EACCES' | 'ENOTDIR', syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function fakeStats(type: HostEntryType): Stats {
  const stats = {
    isFile: () => type === 'file',
    isDirectory: () => type === 'directory',
    isSymbolicLink: () => type === 'symlink',
    isBlockDevice: () => false,
    isCharacterDevice: () => false,
    isFIFO: () => false,
    isSocket: () => false,
  };
  // fast-glob only calls the is*() methods; the cast stays inside this module.
  return stats as unknown as Stats;
}

function fakeDirent(name: string, type: HostEntryType): Dirent {
  return Object.assign(fakeStats(type), { name }) as unknown as Dirent;
}

/** What fast-glob needs of a file system, as promises: entry types only (it calls nothing else). */
export interface GlobFs {
  /** Entries with their own types (lstat); rejects with an errno-style error (ENOENT, EACCES, ENOTDIR). */
  readdir(path: string): Promise<readonly { name: string; type: HostEntryType }[]>;
  /** The type, following symlinks or not; undefined when absent. */
  typeOf(path: string, follow: boolean): Promise<HostEntryType | undefined>;
}

/** A read-only node:fs look-alike for fast-glob's `fs` option, over promise-returning reads. */
export function globFsAdapter(fs: GlobFs): Partial<fg.FileSystemAdapter> {
  const statWith =
    (follow: boolean) =>
    (path: string, callback: (error: NodeJS.ErrnoException | null, stats: Stats) => void): void => {
      fs.typeOf(path, follow).then(
        (type) => {
          if (type === undefined) callback(errno('ENOENT', follow ? 'stat' : 'lstat', path), undefined as unknown as Stats);
          else callback(null, fakeStats(type));
        },
        (err: NodeJS.ErrnoException) => callback(err, undefined as unknown as Stats),
      );
    };
  const readdir = ((path: string, optsOrCb: unknown, maybeCb?: unknown): void => {
    const withTypes = typeof optsOrCb === 'object' && optsOrCb !== null;
    const callback = (withTypes ? maybeCb : optsOrCb) as (error: NodeJS.ErrnoException | null, result: unknown[]) => void;
    fs.readdir(path).then(
      (list) => callback(null, withTypes ? list.map((e) => fakeDirent(e.name, e.type)) : list.map((e) => e.name)),
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  }) as fg.FileSystemAdapter['readdir'];
  return { lstat: statWith(false), stat: statWith(true), readdir };
}

/** fast-glob's file system over a listing made by one `find` (see findArgv). */
export function listingFs(listing: Listing): Partial<fg.FileSystemAdapter> {
  const typeOf = (path: string, follow: boolean): HostEntryType | undefined => {
    if (path === listing.cwd) return 'directory';
    const entry = listing.entries.get(path);
    if (!entry) return undefined;
    return follow ? entry.targetType : entry.type;
  };
  return globFsAdapter({
    typeOf: async (path, follow) => typeOf(path, follow),
    readdir: async (path) => {
      if (listing.denied.has(path)) throw errno('EACCES', 'scandir', path);
      const type = typeOf(path, true);
      if (type === undefined) throw errno('ENOENT', 'scandir', path);
      if (type !== 'directory') throw errno('ENOTDIR', 'scandir', path);
      return (listing.children.get(path) ?? []).map((name) => ({ name, type: typeOf(joinPath(path, name), false) ?? 'other' }));
    },
  });
}

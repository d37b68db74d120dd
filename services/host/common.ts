/** Helpers shared by LocalHost and SshHost, so both validate and fail the same way. */
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import { UserError, type ErrorCode } from '../../core/errors.js';
import type { HostDirEntry, HostEntryType, HostProcess, ReferenceHost } from '../../core/reference-host.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function typeFromMode(mode: number): HostEntryType {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'directory';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

export function hostError(
  code: ErrorCode,
  message: string,
  where: string,
  opts: { hint?: string; cause?: unknown } = {},
): UserError {
  return new UserError(code, message, { where, ...opts });
}

/** Refuses relative paths and NUL bytes; returns the normalized path. */
export function checkAbsolutePath(path: string, host: string, what = 'path'): string {
  if (typeof path !== 'string' || path.length === 0 || !path.startsWith('/')) {
    throw hostError('HOST_PATH_NOT_ABSOLUTE', `${what} must be an absolute path on the reference host, got ${JSON.stringify(path)}`, host, {
      hint: 'reference host paths are resolved on the host itself; give them starting with "/"',
    });
  }
  if (path.includes('\0')) {
    throw hostError('HOST_BAD_ARGUMENT', `${what} contains a NUL byte`, host);
  }
  return posix.normalize(path);
}

export function checkArgv(command: readonly string[], host: string): void {
  if (!Array.isArray(command) || command.length === 0 || command[0] === '') {
    throw hostError('HOST_BAD_ARGUMENT', 'run() needs a non-empty argv array, e.g. ["cat", "/etc/os-release"]', host);
  }
  for (const arg of command) {
    if (typeof arg !== 'string' || arg.includes('\0')) {
      throw hostError('HOST_BAD_ARGUMENT', `command argument ${JSON.stringify(arg)} is not a string without NUL bytes`, host);
    }
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkEnv(env: Readonly<Record<string, string>> | undefined, host: string): [string, string][] {
  const entries = Object.entries(env ?? {});
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) throw hostError('HOST_BAD_ARGUMENT', `environment variable name ${JSON.stringify(name)} is not valid`, host);
    if (typeof value !== 'string' || value.includes('\0')) {
      throw hostError('HOST_BAD_ARGUMENT', `environment variable ${name} must be a string without NUL bytes`, host);
    }
  }
  return entries;
}

export function checkTimeout(ms: number | undefined, fallback: number, host: string): number {
  const value = ms ?? fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw hostError('HOST_BAD_ARGUMENT', `timeoutMs must be a positive number, got ${String(ms)}`, host);
  }
  return value;
}

/** 128 + signal number, as shells report a signalled child. */
export function exitCodeForSignal(signal: string): number {
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof osConstants.signals;
  const num = osConstants.signals[name];
  return 128 + (typeof num === 'number' ? num : 0);
}

/**
 * POSIX single-quote quoting: inside '...' nothing is special, so only the quote itself
 * needs the close-escape-reopen dance. Plain words stay unquoted for readable logs.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Switches that change how the exclude patterns after them match; nothing else may pass. */
const EXCLUDE_SWITCHES = /^--(?:no-)?(?:anchored|wildcards|wildcards-match-slash|ignore-case)$/;

export function tarArgs(root: string, excludes: readonly string[], paths: readonly string[]): string[] {
  const args = excludes.map((e) => (e.startsWith('--exclude=') || EXCLUDE_SWITCHES.test(e) ? e : `--exclude=${e}`));
  // Excludes must come before the members: GNU tar ignores (and warns about) later ones.
  // Hard links stay links (tar's default) and --sparse keeps holes, as the local capture does.
  return ['tar', '-C', root, '--sparse', '-cf', '-', ...args, '--', ...paths];
}

export function checkTarPaths(paths: readonly string[] | undefined, host: string): readonly string[] {
  const list = paths ?? ['.'];
  if (list.length === 0) throw hostError('HOST_BAD_ARGUMENT', 'tarStream paths must not be empty', host);
  for (const p of list) {
    if (p.length === 0 || p.includes('\0')) throw hostError('HOST_BAD_ARGUMENT', `tar member ${JSON.stringify(p)} is not valid`, host);
  }
  return list;
}

/** Exit status of GNU tar that still means a usable archive. */
export function tarExitOk(code: number, tolerateChangedFiles: boolean | undefined): boolean {
  return code === 0 || (code === 1 && tolerateChangedFiles === true);
}

export function tarFailure(host: string, root: string, exitCode: number, stderr: string): UserError {
  const hint =
    exitCode === 1
      ? 'files changed while tar read them (is the product running?); stop it, or capture with tolerateChangedFiles'
      : 'check that the directory exists and is readable by the connecting user, and that GNU tar is installed';
  return hostError('HOST_TAR_FAILED', `tar of ${root} failed with exit ${exitCode}: ${stderr.trim() || '(no message)'}`, host, { hint });
}

/**
 * Turns a failed read into the error a person can act on. Both hosts look the path up
 * again (only on this failure path) rather than trusting the raw error: SFTP folds
 * ENOENT, ENOTDIR and ELOOP into one "no such file" status, and a local ENOTDIR can
 * mean either "a parent is a file" or "this is not a directory".
 */
export async function explainFailure(
  host: string,
  path: string,
  expected: 'file' | 'directory',
  permissionDenied: boolean,
  cause: unknown,
  stat: (p: string) => Promise<{ type: HostEntryType } | undefined>,
): Promise<UserError> {
  const where = whereOf(host, path);
  let found: { type: HostEntryType } | undefined;
  try {
    found = await stat(path);
  } catch {
    found = undefined;
  }
  if (permissionDenied) {
    return hostError('HOST_PERMISSION_DENIED', `permission denied reading ${path}`, where, {
      hint: 'connect as a user who can read the product installation (often its owner), or grant read access',
      cause,
    });
  }
  if (!found) return hostError('HOST_PATH_NOT_FOUND', `no such ${expected}: ${path}`, where, { cause });
  if (expected === 'file' && found.type !== 'file') {
    return hostError('HOST_NOT_A_FILE', `${path} is a ${found.type}, not a regular file`, where, { cause });
  }
  if (expected === 'directory' && found.type !== 'directory') {
    return hostError('HOST_NOT_A_DIRECTORY', `${path} is a ${found.type}, not a directory`, where, { cause });
  }
  const detail = cause instanceof Error ? cause.message : String(cause);
  return hostError('HOST_IO_FAILED', `reading ${path} failed: ${detail}`, where, { cause });
}

export function whereOf(host: string, path: string): string {
  return `${host}:${path}`;
}

export function timeoutError(host: string, command: readonly string[], timeoutMs: number) {
  return hostError('HOST_COMMAND_TIMEOUT', `command ${JSON.stringify(command.join(' '))} did not finish within ${timeoutMs} ms and was killed`, host, {
    hint: 'pass a larger timeoutMs to run() if the command is just slow',
  });
}

export function overflowError(host: string, command: readonly string[], max: number) {
  return hostError('HOST_COMMAND_OUTPUT_TOO_LARGE', `command ${JSON.stringify(command.join(' '))} wrote more than ${max} bytes and was killed`, host, {
    hint: 'read large files with readFile or tarStream, or raise maxOutputBytes',
  });
}

/** Same test on both hosts: what the host's own `sh` would find. */
export async function hasCommandVia(host: ReferenceHost, name: string): Promise<boolean> {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) return false;
  const result = await host.run(['sh', '-c', 'command -v "$1" >/dev/null 2>&1', 'sh', name]);
  return result.exitCode === 0;
}

/**
 * `readText`, with a missing file as undefined. Reading straight away and looking at the error
 * costs one lookup where `exists` then `readText` costs two (over SSH each is a round trip).
 */
export async function readTextIfExistsVia(host: ReferenceHost, path: string): Promise<string | undefined> {
  try {
    return await host.readText(path);
  } catch (err) {
    if (err instanceof UserError && err.code === 'HOST_PATH_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * `processes()` of a host: the first call runs ps, later ones (including concurrent ones, as
 * discovery's plugins are) share its promise. A host object lives for one job, so that is one
 * process list per job and host, handed out through the plugin context rather than a global.
 */
export function processSnapshot(host: ReferenceHost): () => Promise<readonly HostProcess[]> {
  let list: Promise<readonly HostProcess[]> | undefined;
  return () => (list ??= readProcesses(host));
}

/**
 * `readdir()` of a host: each directory is listed once per host object (one job), like
 * `processes()`; concurrent and later calls for the same path share that listing, so plugins of
 * one discovery that look in the same place (/opt) cost one listing. A listing that fails is not
 * kept, so asking again tries again. Each caller gets its own array.
 */
export function listingSnapshot(list: (path: string) => Promise<HostDirEntry[]>): (path: string) => Promise<HostDirEntry[]> {
  const listings = new Map<string, Promise<readonly HostDirEntry[]>>();
  return async (path) => {
    let listing = listings.get(path);
    if (listing === undefined) {
      const read = list(path).then((entries) => Object.freeze(entries.map((e) => Object.freeze(e))));
      listings.set(path, read);
      read.catch(() => {
        if (listings.get(path) === read) listings.delete(path);
      });
      listing = read;
    }
    return [...(await listing)];
  };
}

async function readProcesses(host: ReferenceHost): Promise<readonly HostProcess[]> {
  const argv = ['ps', '-eo', 'pid=,args='];
  const r = await host.run(argv, { timeoutMs: 15_000, maxOutputBytes: 16 * 1024 * 1024 });
  if (r.exitCode !== 0) {
    throw hostError('HOST_COMMAND_FAILED', `listing the processes with "${argv.join(' ')}" failed with exit ${r.exitCode}: ${r.stderr.trim() || '(no message)'}`, host.describe(), {
      hint: 'the host needs a ps that takes -o (procps); install it, or look for the product without the process list',
    });
  }
  const out: HostProcess[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m) out.push(Object.freeze({ pid: Number(m[1]), args: m[2] as string }));
  }
  return Object.freeze(out);
}

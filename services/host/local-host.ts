/** The reference host is this machine: node:fs reads and child processes without a shell. */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  checkAbsolutePath,
  checkArgv,
  checkEnv,
  checkTarPaths,
  checkTimeout,
  exitCodeForSignal,
  explainFailure,
  hasCommandVia,
  listingSnapshot,
  processSnapshot,
  readTextIfExistsVia,
  hostError,
  overflowError,
  tarArgs,
  timeoutError,
  typeFromMode,
  whereOf,
} from './common.js';
import { normalizePatterns, runGlob } from './glob.js';
import { OutputCollector, TarOutput } from './process-io.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_RUN_TIMEOUT_MS,
  type GlobOptions,
  type HostDirEntry,
  type HostEntryType,
  type HostStat,
  type ReferenceHost,
  type RunOptions,
  type RunResult,
  type TarStreamOptions,
} from '../../core/reference-host.js';

const NAME = 'local';

function toHostStat(s: Stats, linkTarget?: string): HostStat {
  return {
    type: typeFromMode(s.mode),
    size: s.size,
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    mtimeMs: Math.floor(s.mtimeMs / 1000) * 1000,
    ...(linkTarget === undefined ? {} : { linkTarget }),
  };
}

function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

function isPermission(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export class LocalHost implements ReferenceHost {
  readonly kind = 'local' as const;

  describe(): string {
    return NAME;
  }

  async readFile(path: string): Promise<Buffer> {
    const p = checkAbsolutePath(path, NAME);
    try {
      // O_NONBLOCK so that opening a FIFO does not hang; we refuse non-regular files anyway.
      const handle = await open(p, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      try {
        const s = await handle.stat();
        if (!s.isFile()) throw hostError('HOST_NOT_A_FILE', `${p} is a ${typeFromMode(s.mode)}, not a regular file`, whereOf(NAME, p));
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'HOST_NOT_A_FILE') throw err;
      throw await explainFailure(NAME, p, 'file', isPermission(err), err, (x) => this.stat(x));
    }
  }

  async readText(path: string): Promise<string> {
    return (await this.readFile(path)).toString('utf8');
  }

  /** Listed once per host object (one job): see listingSnapshot. */
  async readdir(path: string): Promise<HostDirEntry[]> {
    return this.listings(checkAbsolutePath(path, NAME));
  }

  private readonly listings = listingSnapshot((p) => this.listDirectory(p));

  private async listDirectory(p: string): Promise<HostDirEntry[]> {
    try {
      const dirents = await readdir(p, { withFileTypes: true });
      return dirents
        .map((d): HostDirEntry => ({
          name: d.name,
          type: d.isFile() ? 'file' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'other',
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw await explainFailure(NAME, p, 'directory', isPermission(err), err, (x) => this.stat(x));
    }
  }

  async stat(path: string): Promise<HostStat | undefined> {
    const p = checkAbsolutePath(path, NAME);
    try {
      return toHostStat(await stat(p));
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw await explainFailure(NAME, p, 'file', isPermission(err), err, async () => undefined);
    }
  }

  async lstat(path: string): Promise<HostStat | undefined> {
    const p = checkAbsolutePath(path, NAME);
    try {
      const s = await lstat(p);
      return toHostStat(s, s.isSymbolicLink() ? await readlink(p) : undefined);
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw await explainFailure(NAME, p, 'file', isPermission(err), err, async () => undefined);
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async glob(patterns: string | readonly string[], options: GlobOptions): Promise<string[]> {
    const list = normalizePatterns(patterns, NAME);
    const cwd = checkAbsolutePath(options.cwd, NAME, 'glob cwd');
    const top = await this.stat(cwd);
    if (!top) return [];
    if (top.type !== 'directory') throw hostError('HOST_NOT_A_DIRECTORY', `glob cwd ${cwd} is a ${top.type}, not a directory`, whereOf(NAME, cwd));
    const targetType = async (abs: string): Promise<HostEntryType | undefined> => (await this.stat(abs))?.type;
    return runGlob(NAME, list, options, cwd, targetType);
  }

  async run(command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    checkArgv(command, NAME);
    const env = checkEnv(options.env, NAME);
    const timeoutMs = checkTimeout(options.timeoutMs, DEFAULT_RUN_TIMEOUT_MS, NAME);
    const cwd = options.cwd === undefined ? undefined : checkAbsolutePath(options.cwd, NAME, 'cwd');
    if (cwd !== undefined) {
      const s = await this.stat(cwd);
      if (!s) throw hostError('HOST_PATH_NOT_FOUND', `working directory ${cwd} does not exist`, whereOf(NAME, cwd));
      if (s.type !== 'directory') throw hostError('HOST_NOT_A_DIRECTORY', `working directory ${cwd} is a ${s.type}`, whereOf(NAME, cwd));
    }
    const [file, ...args] = command as [string, ...string[]];
    const output = new OutputCollector(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);

    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(file, args, {
        cwd,
        env: env.length === 0 ? process.env : { ...process.env, ...Object.fromEntries(env) },
        // stdin a pipe that ends at once when there is no input: EOF, like /dev/null.
        stdio: ['pipe', 'pipe', 'pipe'],
        // Own process group, so a timeout kills what the command started too (as SshHost does).
        detached: true,
      });
      // A program that exits without reading its input must not fail the run with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child);
      }, timeoutMs);
      const onData = (which: 'stdout' | 'stderr') => (chunk: Buffer) => {
        if (!output.push(which, chunk)) killGroup(child);
      };
      child.stdout.on('data', onData('stdout'));
      child.stderr.on('data', onData('stderr'));
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // Report "not found" / "not executable" the way a shell (and so SshHost) does.
        if (err.code === 'ENOENT') resolve({ exitCode: 127, stdout: '', stderr: `${file}: not found\n` });
        else if (err.code === 'EACCES') resolve({ exitCode: 126, stdout: '', stderr: `${file}: Permission denied\n` });
        else reject(hostError('HOST_COMMAND_FAILED', `cannot start ${file}: ${err.message}`, NAME, { cause: err }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(timeoutError(NAME, command, timeoutMs));
        } else if (output.overflowed) {
          reject(overflowError(NAME, command, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES));
        } else {
          resolve({
            exitCode: code ?? exitCodeForSignal(signal ?? 'SIGKILL'),
            stdout: output.stdoutBuffer().toString('utf8'),
            stderr: output.stderrText(),
          });
        }
      });
    });
  }

  /** One `ps` for the life of this object (one job): see processSnapshot. */
  readonly processes = processSnapshot(this);

  readTextIfExists(path: string): Promise<string | undefined> {
    return readTextIfExistsVia(this, path);
  }

  async hasCommand(name: string): Promise<boolean> {
    return hasCommandVia(this, name);
  }

  tarStream(root: string, options: TarStreamOptions = {}): Readable {
    const r = checkAbsolutePath(root, NAME, 'tar root');
    const paths = checkTarPaths(options.paths, NAME);
    const out = new TarOutput(NAME, r, options.tolerateChangedFiles);
    const [file, ...args] = tarArgs(r, options.excludes ?? [], paths) as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const exit = new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(hostError('HOST_TAR_FAILED', `cannot start tar: ${err.message}`, NAME, { hint: 'install GNU tar', cause: err })));
      child.once('close', (code, signal) => resolve(code ?? exitCodeForSignal(signal ?? 'SIGKILL')));
    });
    out.attach({ stdout: child.stdout, stderr: child.stderr, exit, kill: () => killGroup(child) });
    return out.stream;
  }

  async close(): Promise<void> {
    // Nothing to release: every call cleans up after itself.
  }
}

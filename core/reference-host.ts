/**
 * Read-only access to a reference host: the machine where the product to introspect is
 * installed. Plugins get one `ReferenceHost` and use it the same way whether the host is
 * this machine (`LocalHost`) or a remote one over SSH (`SshHost`); the test suite runs the
 * same assertions against both.
 *
 * Dehydration must not change the reference host, so this interface offers reads only:
 * there is no write, mkdir, chmod or upload. `run()` can start any program, which we
 * cannot prove harmless; plugins must only run commands that read (`rpm -q`, `java
 * -version`, `cat`, `ps`...). Temporary files belong in the instance's tmp directory on
 * the machine running abctl, never on the reference host.
 *
 * All paths are absolute POSIX paths on the reference host. Relative paths are refused:
 * they would resolve against abctl's working directory locally but against the login
 * directory remotely, and the two would silently differ.
 */
import type { Readable } from 'node:stream';

export type HostEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface HostDirEntry {
  readonly name: string;
  /** The entry itself, not what a symlink points at (like lstat). */
  readonly type: HostEntryType;
}

export interface HostStat {
  readonly type: HostEntryType;
  readonly size: number;
  /** Permission bits only (`mode & 0o7777`), e.g. 0o750; the file type is in `type`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /**
   * Modification time in ms since the epoch, truncated to whole seconds on every host
   * (SFTP carries seconds only; truncating locally too keeps local and remote equal).
   */
  readonly mtimeMs: number;
  /** What a symlink contains, as written (may be relative); only from `lstat`. */
  readonly linkTarget?: string;
}

export interface GlobOptions {
  /** Absolute directory the patterns are relative to. */
  readonly cwd: string;
  /** Match names starting with '.'; default false. */
  readonly dot?: boolean;
  /** Patterns whose matches are dropped (same syntax, relative to cwd). */
  readonly ignore?: readonly string[];
  /**
   * Which entries to return; default 'file'. 'file' means regular files and symlinks to
   * regular files, 'directory' directories and symlinks to directories, 'any' everything.
   * Symlinked directories are never descended into (no loops, and capture keeps links as links).
   */
  readonly type?: 'file' | 'directory' | 'any';
}

export interface RunOptions {
  /** Default 30 000 ms; on expiry the command is killed and `run` throws HOST_COMMAND_TIMEOUT. */
  readonly timeoutMs?: number;
  /** Absolute working directory on the host; must exist. Default: the login/home directory remotely, abctl's cwd locally. */
  readonly cwd?: string;
  /**
   * Extra environment variables (names: letters, digits, '_'). The values never appear on a
   * command line (locally the process environment, over SSH the channel's stdin): pass
   * secrets here, never in argv.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Cap on stdout+stderr; default 64 MiB. Exceeding it kills the command and throws HOST_COMMAND_OUTPUT_TOO_LARGE. */
  readonly maxOutputBytes?: number;
  /** Written to the command's stdin, which is then closed (default: no stdin). Since SDK 1.4. */
  readonly input?: string | Uint8Array;
}

export interface RunResult {
  /**
   * The command's exit status. A command that is not found gives 127 on every host (as a
   * shell would); a command killed by a signal gives 128 + the signal number.
   */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TarStreamOptions {
  /**
   * GNU tar exclude arguments, already computed by the caller, in order: `--exclude=PATTERN`
   * and the pattern-matching switches (`--anchored`, `--[no-]wildcards-match-slash`, ...)
   * that apply to the excludes after them. A bare pattern is taken as `--exclude=PATTERN`.
   */
  readonly excludes?: readonly string[];
  /**
   * Only 'none': the stream is always plain tar. (An SSH host compresses it in transit and
   * decodes it on arrival; the archive's own compression is done on the abctl side.)
   */
  readonly compress?: 'none';
  /** Members to archive, relative to root; default ['.']. */
  readonly paths?: readonly string[];
  /**
   * GNU tar exits 1 when a file changed while it was read (a running product's logs).
   * By default that fails the stream; set true to accept such an archive.
   */
  readonly tolerateChangedFiles?: boolean;
}

/** One line of the host's process table (SDK 1.5). */
export interface HostProcess {
  readonly pid: number;
  /**
   * The command line as `ps -o args` shows it: the arguments joined by spaces, or the title a
   * process gave itself (`nginx: master process ...`). For the exact arguments of one process
   * (paths with spaces), read `/proc/<pid>/cmdline`.
   */
  readonly args: string;
}

export const DEFAULT_RUN_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** See the module comment: reads only, the same on this machine and over SSH. */
export interface ReferenceHost {
  readonly kind: 'local' | 'ssh';
  /** 'local', or 'user@host:port'. */
  describe(): string;

  /** Whole file; throws HOST_PATH_NOT_FOUND, HOST_NOT_A_FILE or HOST_PERMISSION_DENIED. */
  readFile(path: string): Promise<Buffer>;
  /** Whole file decoded as UTF-8. */
  readText(path: string): Promise<string>;
  /**
   * Entries of a directory sorted by name, without '.' and '..'. Listed once per host object, i.e.
   * once per job (SDK 1.6): later calls for the same path, by any plugin of the job, get that
   * snapshot; a failed listing is not kept.
   */
  readdir(path: string): Promise<HostDirEntry[]>;
  /** Follows symlinks; undefined when the path (or a symlink's target) does not exist. */
  stat(path: string): Promise<HostStat | undefined>;
  /** Does not follow symlinks, and fills `linkTarget` for them; undefined when absent. */
  lstat(path: string): Promise<HostStat | undefined>;
  /** True when `stat` finds the path (a dangling symlink does not exist). */
  exists(path: string): Promise<boolean>;
  /**
   * The file decoded as UTF-8, or undefined when nothing is at `path` (SDK 1.5): `exists` and
   * `readText` in one call, so over SSH one round trip fewer. A directory, an unreadable file or
   * a broken connection still throws, as `readText` does.
   */
  readTextIfExists(path: string): Promise<string | undefined>;
  /**
   * fast-glob patterns relative to `options.cwd`; returns sorted relative POSIX paths.
   * Patterns may not be absolute or contain '..'. A missing cwd gives [].
   */
  glob(patterns: string | readonly string[], options: GlobOptions): Promise<string[]>;

  /**
   * Runs a program (argv[0] looked up in PATH) with no stdin. Read-only commands only: see
   * the module comment. A non-zero exit is returned, not thrown.
   */
  run(command: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Whether `name` is a command the host's shell can find. */
  hasCommand(name: string): Promise<boolean>;
  /**
   * The processes running on the host (SDK 1.5), read with `ps -eo pid=,args=` once per host
   * object, i.e. once per job: every plugin of the job gets the same snapshot, so a discovery over
   * SSH lists the processes once however many plugins look. Throws HOST_COMMAND_FAILED when `ps`
   * fails (a host without procps, or whose ps lacks `-o`).
   */
  processes(): Promise<readonly HostProcess[]>;

  /**
   * A tar archive of `root` (GNU tar `-C root -cf -`), streamed as it is produced. On
   * failure the stream is destroyed with an HOST_TAR_FAILED error carrying tar's stderr;
   * destroying the stream stops tar.
   */
  tarStream(root: string, options?: TarStreamOptions): Readable;

  /** Ends the connection (SSH); the host object cannot be used afterwards. */
  close(): Promise<void>;
}

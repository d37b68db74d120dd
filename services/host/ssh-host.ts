/**
 * The reference host is another machine, reached with ssh2: one connection per host object,
 * one SFTP session (reused) for file reads, and exec channels for commands. The host key is
 * checked against known_hosts before anything is sent, unless the user explicitly opts out.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough, type Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, KeyboardInteractiveCallback, Prompt, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { AbError, UserError } from '../../core/errors.js';
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
  shellQuote,
  tarArgs,
  tarExitOk,
  timeoutError,
  typeFromMode,
  whereOf,
} from './common.js';
import { errno, findArgv, globFsAdapter, listingDepth, listingFs, normalizePatterns, parseListing, runGlob, type GlobFs } from './glob.js';
import { checkHostKey, fingerprint, hostKeyAlgorithms, keyTypeOf, knownKeyTypes, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';
import { OutputCollector, TarOutput } from './process-io.js';
import { remoteEnv } from './remote-env.js';
import { ExecFiles } from './exec-files.js';
import { compressedTarCommand, decodeTransfer, type TarTransfer } from './tar-transfer.js';
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
import { formatSshTarget, parseSshTarget, type SshTarget } from './ssh-target.js';
import { SshTrace, type SshStats } from './ssh-trace.js';
import { RunnerPool, runnerLine, runnerRequest, type Runner } from './command-runner.js';

// ssh2 is CommonJS: its named exports are only reachable through the default import.
const { Client, utils: sshUtils } = ssh2;

export interface HostLogger {
  warn(message: string): void;
  debug?(message: string): void;
}

export interface SshHostOptions {
  /** Private key file(s) to offer, in order. Default: those of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist and are not encrypted. */
  readonly identityFile?: string | readonly string[];
  /** Default ~/.ssh/known_hosts. */
  readonly knownHostsFile?: string;
  /** Accept any host key. Only for throw-away hosts: it allows a man in the middle. Logs a warning. */
  readonly insecureSkipHostKeyCheck?: boolean;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; false to not use an agent. */
  readonly agentSocket?: string | false;
  /** Password authentication, from a file (first line) — never from argv. */
  readonly passwordFile?: string;
  /** Password authentication, from the environment variable of this name — never from argv. */
  readonly passwordEnv?: string;
  /** Password authentication with a value the caller holds (a plugin's password property) — never from argv. */
  readonly password?: string;
  /** Handshake and authentication deadline; default 20 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Commands and tar streams open at once on this connection; default 8 (OpenSSH allows 10 sessions, SFTP uses one). */
  readonly maxChannels?: number;
  /**
   * Long-lived shells that run commands without a session each (command-runner.ts), at most this
   * many; default half of maxChannels, at most 4; 0 gives every command an exec channel of its own.
   */
  readonly commandRunners?: number;
  /**
   * Start the SFTP subsystem as soon as the connection is up (default true: nearly every job
   * reads files first). False for callers that never read files over SFTP (deploy): the session
   * costs the host a fork and a login shell, which competes with the commands that matter.
   */
  readonly warmSftp?: boolean;
  /** Where ~/.ssh is; default the current user's home. */
  readonly homeDir?: string;
  /**
   * How tarStream's bytes cross the connection (tar-transfer.ts): 'auto' (default) compressed
   * with zstd when both sides have it, else gzip; 'gzip'; 'none' (plain tar: only worth it on
   * a link faster than the host's compressor).
   */
  readonly tarTransfer?: TarTransfer;
  readonly log?: HostLogger;
}

/** run()'s options plus what abctl's own callers (ctx.utils.run) pass: on abort the remote process group is killed. */
export interface HostRunOptions extends RunOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface StreamingRunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Every chunk of stdout and stderr, as it comes. */
  readonly onOutput?: (chunk: Buffer) => void;
  /** When given, stderr's chunks go here instead of onOutput (a program that speaks a protocol on stdout). */
  readonly onStderr?: (chunk: Buffer) => void;
  /** A stream to feed to the command's stdin (closed after it), or 'hold' (see runStreaming). */
  readonly stdin?: Readable | 'hold';
  readonly cwd?: string;
}

export interface StreamingRunResult {
  /** Undefined when the channel closed without an exit status (the connection dropped), or it was never started. */
  readonly exitCode: number | undefined;
  /** Set when runStreaming killed the command: its time limit passed, or the signal fired. */
  readonly stopped?: 'timeout' | 'abort';
}

/** How a collected command went, on a runner or a channel of its own. */
interface Ran {
  /** Undefined when no status came (the connection or the runner went away). */
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  /** Killed because the caller's signal fired. */
  readonly aborted: boolean;
  readonly output: OutputCollector;
  /** Why no status came, when known. */
  readonly lost?: string;
}

/** A started command whose output is streamed; `exit` is undefined when no status came. */
interface StartedCommand {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exit: Promise<number | undefined>;
  kill(): void;
}

/** A remote command line for an exec channel; `what` names the command for the trace. */
interface ExecLine {
  readonly line: string;
  readonly stdin: Buffer;
  readonly what: string;
}

const stderrLogger: HostLogger = { warn: (m) => process.stderr.write(`warning: ${m}\n`) };

/** Printed (with exit 254) when `cd` to RunOptions.cwd fails, to tell that apart from the command's own failure. */
const CWD_FAILED = '__abctl_cwd_failed__';

// SFTP status codes (draft-ietf-secsh-filexfer-02).
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;
/** SFTP requests one glob keeps in flight (fast-glob's default, the core count, would wait on the network). */
const SFTP_GLOB_CONCURRENCY = 32;

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function toHostStat(s: SftpStats | { mode: number; uid: number; gid: number; size: number; mtime: number }, linkTarget?: string): HostStat {
  return {
    type: typeFromMode(s.mode),
    size: s.size,
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    mtimeMs: s.mtime * 1000,
    ...(linkTarget === undefined ? {} : { linkTarget }),
  };
}

/**
 * A counting semaphore for exec channels: beyond the server's MaxSessions they would be refused.
 * The server's limit is not told to clients, so a refusal while others are open lowers ours to
 * what the server just took (`shrink`).
 */
class Slots {
  private waiting: (() => void)[] = [];
  private inUse = 0;
  private opened = 0;
  private capacity: number;
  /** Told when a caller has to wait (the command runners then give an idle channel back). */
  onWait: () => void = () => undefined;
  constructor(private readonly most: number) {
    this.capacity = most;
  }
  get crowded(): boolean {
    return this.waiting.length > 0;
  }
  async acquire(): Promise<() => void> {
    if (this.inUse < this.capacity) this.inUse++;
    else {
      const wait = new Promise<void>((resolve) => this.waiting.push(resolve));
      this.onWait();
      await wait;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      this.wake();
    };
  }
  /** Called by a holder whose open was refused: the others' count is the server's limit. */
  shrink(): void {
    this.capacity = Math.max(1, this.inUse - 1);
    this.opened = 0;
  }
  /** After a shrink, each run of successful opens as long as the limit earns one slot back (a refusal may come from the server's clean-up lag alone). */
  succeeded(): void {
    if (this.capacity >= this.most || ++this.opened < this.capacity) return;
    this.opened = 0;
    this.capacity++;
    this.wake();
  }
  get others(): number {
    return this.inUse - 1;
  }
  private wake(): void {
    while (this.inUse < this.capacity && this.waiting.length > 0) {
      this.inUse++;
      this.waiting.shift()?.();
    }
  }
}

interface AuthPlan {
  readonly methods: AnyAuthMethod[];
  /** For the failure message: what we offered. */
  readonly offered: string[];
}

function readSecretFile(path: string, what: string, where: string): string {
  try {
    return readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (err) {
    throw new UserError('SSH_PASSWORD_UNREADABLE', `cannot read the ${what} file ${path}: ${(err as Error).message}`, { where, cause: err });
  }
}

function planAuth(target: SshTarget, options: SshHostOptions, home: string, log: HostLogger): AuthPlan {
  const where = formatSshTarget(target);
  const methods: AnyAuthMethod[] = [];
  const offered: string[] = [];
  const explicit = options.identityFile === undefined ? undefined : typeof options.identityFile === 'string' ? [options.identityFile] : [...options.identityFile];
  const candidates = explicit ?? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => join(home, '.ssh', n));

  for (const file of candidates) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch (err) {
      if (explicit) {
        throw new UserError('SSH_IDENTITY_FILE_UNREADABLE', `cannot read identity file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          where,
          hint: 'pass the path of an existing private key (e.g. ~/.ssh/id_ed25519), readable by the user running abctl',
          cause: err,
        });
      }
      continue;
    }
    const parsed = sshUtils.parseKey(text);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || key === undefined || !key.isPrivateKey()) {
      const why = key instanceof Error ? key.message : 'it is not a private key';
      const encrypted = /encrypted|passphrase/i.test(why);
      if (explicit) {
        throw new UserError('SSH_IDENTITY_FILE_INVALID', `identity file ${file} cannot be used: ${why}`, {
          where,
          hint: encrypted
            ? `load it into ssh-agent (ssh-add ${file}) and run abctl with SSH_AUTH_SOCK set, instead of passing it directly`
            : 'pass an OpenSSH or PEM private key file (not the .pub file)',
        });
      }
      log.debug?.(`skipping ${file}: ${why}`);
      continue;
    }
    methods.push({ type: 'publickey', username: target.user, key });
    offered.push(`key ${file}`);
  }

  const agent = options.agentSocket === false ? undefined : options.agentSocket ?? process.env.SSH_AUTH_SOCK;
  if (agent) {
    methods.push({ type: 'agent', username: target.user, agent });
    offered.push(`ssh-agent at ${agent}`);
  }

  let password: string | undefined = options.password;
  if (password === undefined && options.passwordFile !== undefined) password = readSecretFile(options.passwordFile, 'password', where);
  else if (password === undefined && options.passwordEnv !== undefined) {
    password = process.env[options.passwordEnv];
    if (password === undefined) {
      throw new UserError('SSH_PASSWORD_MISSING', `environment variable ${options.passwordEnv} (the SSH password) is not set`, { where });
    }
  }
  if (password !== undefined) {
    const secret = password;
    methods.push({ type: 'password', username: target.user, password: secret });
    // Servers that do passwords through PAM ask via keyboard-interactive instead.
    methods.push({
      type: 'keyboard-interactive',
      username: target.user,
      prompt: (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) =>
        finish(prompts.map((p) => (p.echo ? '' : secret))),
    });
    offered.push('password');
  }

  if (methods.length === 0) {
    throw new UserError('SSH_NO_CREDENTIALS', `no way to log in to ${where}: no identity file, no ssh-agent, no password`, {
      where,
      hint: 'pass --identity-file, or start ssh-agent and ssh-add your key, or create ~/.ssh/id_ed25519 (ssh-keygen -t ed25519) and authorize it on the host',
    });
  }
  return { methods, offered };
}

function keyscanHint(target: SshTarget, knownHostsFile: string): string {
  const port = target.port === 22 ? '' : `-p ${target.port} `;
  return `if this is the right host, add its key: ssh-keyscan ${port}${target.host} >> ${knownHostsFile} (compare the fingerprint with ssh-keygen -lf on the host first)`;
}

export class SshHost implements ReferenceHost {
  readonly kind = 'ssh' as const;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  /** Set once the server refused the SFTP subsystem: reads then go through exec (exec-files.ts). */
  private execFiles: ExecFiles | undefined;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private readonly slots: Slots;
  private readonly name: string;
  private readonly trace: SshTrace;
  private readonly runners: RunnerPool;
  #tarBytes = 0;

  private constructor(
    readonly target: SshTarget,
    private readonly client: InstanceType<typeof Client>,
    maxChannels: number,
    private readonly log: HostLogger,
    private readonly tarTransfer: TarTransfer,
    connectStarted: number,
    commandRunners: number,
  ) {
    this.name = formatSshTarget(target);
    this.trace = new SshTrace(this.name, connectStarted);
    this.slots = new Slots(maxChannels);
    this.runners = new RunnerPool({
      open: async () => (await this.openExec({ line: runnerLine(), stdin: Buffer.alloc(0), what: 'command runner' })).channel,
      max: commandRunners,
      crowded: () => this.slots.crowded,
      ...(log.debug ? { debug: (m: string) => log.debug?.(`${this.name}: ${m}`) } : {}),
    });
    this.slots.onWait = () => this.runners.shed();
    client.on('close', () => {
      this.closed = true;
    });
  }

  /** Connects, checks the host key and logs in; throws a UserError saying what to fix. */
  static async connect(spec: string | SshTarget, options: SshHostOptions = {}): Promise<SshHost> {
    const target = typeof spec === 'string' ? parseSshTarget(spec) : spec;
    const where = formatSshTarget(target);
    const log = options.log ?? stderrLogger;
    const home = options.homeDir ?? homedir();
    const knownHostsFile = options.knownHostsFile ?? join(home, '.ssh', 'known_hosts');
    const auth = planAuth(target, options, home, log);

    let entries: KnownHostEntry[] = [];
    let knownHostsMissing = false;
    if (!options.insecureSkipHostKeyCheck) {
      try {
        entries = parseKnownHosts(readFileSync(knownHostsFile, 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new UserError('SSH_KNOWN_HOSTS_UNREADABLE', `cannot read known hosts file ${knownHostsFile}: ${(err as Error).message}`, { where, cause: err });
        }
        knownHostsMissing = true;
      }
    }

    let hostKeyProblem: UserError | undefined;
    const hostVerifier = (key: Buffer): boolean => {
      const fp = fingerprint(key);
      if (options.insecureSkipHostKeyCheck) {
        log.warn(`host key of ${where} NOT checked (insecureSkipHostKeyCheck); it presented ${keyTypeOf(key)} ${fp}. Anyone between here and the host could read and change this session.`);
        return true;
      }
      const verdict = checkHostKey(entries, target.host, target.port, key);
      switch (verdict.status) {
        case 'known':
          return true;
        case 'unknown':
          hostKeyProblem = new UserError(
            'SSH_HOST_KEY_UNKNOWN',
            `host key of ${where} is not in ${knownHostsFile}${knownHostsMissing ? ' (the file does not exist)' : ''}; it presented ${keyTypeOf(key)} ${fp}`,
            { where, hint: keyscanHint(target, knownHostsFile) },
          );
          return false;
        case 'revoked':
          hostKeyProblem = new UserError('SSH_HOST_KEY_REVOKED', `host key ${fp} of ${where} is marked @revoked in ${knownHostsFile}:${verdict.line}`, {
            where,
            hint: 'do not connect; ask the host administrator for the new key',
          });
          return false;
        case 'mismatch':
          hostKeyProblem = new UserError(
            'SSH_HOST_KEY_MISMATCH',
            `WARNING: HOST KEY OF ${where} HAS CHANGED. It presented ${keyTypeOf(key)} ${fp}, which differs from the ${verdict.knownTypes.join(', ')} key(s) recorded in ${knownHostsFile} (line ${verdict.lines.join(', ')}). Someone could be intercepting the connection (man in the middle), or the host was reinstalled.`,
            {
              where,
              hint: `check with the host's administrator that ${fp} is its new key; only then remove the old entry (ssh-keygen -R ${target.port === 22 ? target.host : `'[${target.host}]:${target.port}'`} -f ${knownHostsFile}) and add the new one`,
            },
          );
          return false;
      }
    };

    const known = knownKeyTypes(entries, target.host, target.port);
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      hostVerifier,
      authHandler: auth.methods,
      readyTimeout: options.connectTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      ...(known.length > 0 ? { algorithms: { serverHostKey: hostKeyAlgorithms(known) } } : {}),
      ...(log.debug ? { debug: (m: string) => log.debug?.(`ssh2: ${m}`) } : {}),
    };

    const client = new Client();
    const connectStarted = performance.now();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & { level?: string; code?: string }) => {
        client.removeListener('ready', onReady);
        client.end();
        reject(hostKeyProblem ?? connectError(err, target, auth, options.connectTimeoutMs ?? 20_000));
      };
      const onReady = () => {
        client.removeListener('error', onError);
        resolve();
      };
      client.once('error', onError);
      client.once('ready', onReady);
      client.connect(config);
    });
    client.on('error', (err: Error) => log.debug?.(`ssh connection to ${where}: ${err.message}`));
    const maxChannels = options.maxChannels ?? 8;
    const runners = options.commandRunners ?? Math.min(4, Math.floor(maxChannels / 2));
    const host = new SshHost(target, client, maxChannels, log, options.tarTransfer ?? 'auto', connectStarted, runners);
    // Start the SFTP subsystem now, while the caller gets on with its work: nearly every job
    // reads files first, and starting sftp-server takes as long as a command. A refusal is
    // dealt with (and retried) on first use.
    if (options.warmSftp !== false) host.sftp().catch(() => undefined);
    // Likewise the first command runner: discovery hooks run a command or two at once.
    host.runners.warm();
    return host;
  }

  describe(): string {
    return this.name;
  }

  private ensureOpen(): void {
    if (this.closed) {
      throw hostError('SSH_CONNECTION_CLOSED', `the SSH connection to ${this.name} is closed`, this.name, {
        hint: 'the host or network ended it, or close() was called; open the reference host again',
      });
    }
  }

  private sftp(): Promise<SFTPWrapper> {
    this.ensureOpen();
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) => {
        const done = this.trace.begin('session', 'sftp');
        this.client.sftp((err, sftp) => {
          done();
          if (err) {
            this.sftpSession = undefined;
            reject(
              hostError('SSH_SFTP_UNAVAILABLE', `cannot start SFTP on ${this.name}: ${err.message}`, this.name, {
                hint: 'enable the sftp subsystem in the host sshd_config (Subsystem sftp /usr/lib/openssh/sftp-server)',
                cause: err,
              }),
            );
          } else {
            sftp.on('close', () => {
              this.sftpSession = undefined;
            });
            resolve(sftp);
          }
        });
      });
    }
    return this.sftpSession;
  }

  /**
   * The exec fallback when the server has no SFTP subsystem (decided on the first read,
   * then kept for the connection); undefined while SFTP works.
   */
  private async withoutSftp(): Promise<ExecFiles | undefined> {
    if (this.execFiles) return this.execFiles;
    try {
      await this.sftp();
      return undefined;
    } catch (err) {
      if (!(err instanceof UserError && err.code === 'SSH_SFTP_UNAVAILABLE' && /subsystem/i.test(err.message))) throw err;
      this.log.debug?.(`${this.name} has no SFTP subsystem; reading files through exec (stat, find, cat)`);
      this.execFiles = new ExecFiles(this.name, (argv, opts) =>
        this.exec(argv, { env: { LC_ALL: 'C' }, ...(opts.maxOutputBytes === undefined ? {} : { maxOutputBytes: opts.maxOutputBytes }) }),
      );
      return this.execFiles;
    }
  }

  private async sftpCall<T>(what: string, fn: (sftp: SFTPWrapper, cb: (err: Error | undefined | null, value: T) => void) => void): Promise<T> {
    const sftp = await this.sftp();
    const done = this.trace.begin('sftp', what);
    return new Promise<T>((resolve, reject) =>
      fn(sftp, (err, value) => {
        done();
        if (err) reject(err);
        else resolve(value);
      }),
    );
  }

  /**
   * Only SFTP status replies say something about the path; anything else (our own errors,
   * a dropped connection) must not be "explained" as a missing file.
   */
  private rethrowUnlessSftpStatus(err: unknown): void {
    if (sftpCode(err) !== undefined) return;
    if (err instanceof AbError) throw err;
    this.ensureOpen();
    throw hostError('SSH_CONNECTION_FAILED', `SFTP request to ${this.name} failed: ${(err as Error).message}`, this.name, {
      hint: 'the connection may have dropped; open the reference host again',
      cause: err,
    });
  }

  async readFile(path: string): Promise<Buffer> {
    const p = checkAbsolutePath(path, this.name);
    // Stat first: opening a FIFO or device through sftp-server would block or never end.
    const s = await this.stat(p);
    if (!s) throw hostError('HOST_PATH_NOT_FOUND', `no such file: ${p}`, whereOf(this.name, p));
    if (s.type !== 'file') throw hostError('HOST_NOT_A_FILE', `${p} is a ${s.type}, not a regular file`, whereOf(this.name, p));
    const viaExec = await this.withoutSftp();
    if (viaExec) return viaExec.readFile(p, s.size);
    try {
      return await this.sftpCall<Buffer>(`readFile ${p}`, (sftp, cb) => sftp.readFile(p, cb));
    } catch (err) {
      this.rethrowUnlessSftpStatus(err);
      throw await explainFailure(this.name, p, 'file', sftpCode(err) === SFTP_PERMISSION_DENIED, err, (x) => this.stat(x));
    }
  }

  async readText(path: string): Promise<string> {
    return (await this.readFile(path)).toString('utf8');
  }

  /** Listed once per host object (one job): see listingSnapshot. */
  async readdir(path: string): Promise<HostDirEntry[]> {
    return this.listings(checkAbsolutePath(path, this.name));
  }

  private readonly listings = listingSnapshot((p) => this.listDirectory(p));

  private async listDirectory(p: string): Promise<HostDirEntry[]> {
    const viaExec = await this.withoutSftp();
    if (viaExec) return viaExec.readdir(p);
    try {
      const list = await this.sftpCall<{ filename: string; attrs: SftpStats }[]>(`readdir ${p}`, (sftp, cb) => sftp.readdir(p, cb));
      return list
        .filter((e) => e.filename !== '.' && e.filename !== '..')
        // sftp-server lstat()s each entry, so a symlink is reported as one, like a local readdir.
        .map((e): HostDirEntry => ({ name: e.filename, type: typeFromMode(e.attrs.mode) }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      this.rethrowUnlessSftpStatus(err);
      throw await explainFailure(this.name, p, 'directory', sftpCode(err) === SFTP_PERMISSION_DENIED, err, (x) => this.stat(x));
    }
  }

  async stat(path: string): Promise<HostStat | undefined> {
    return this.statWith(path, false);
  }

  async lstat(path: string): Promise<HostStat | undefined> {
    return this.statWith(path, true);
  }

  private async statWith(path: string, noFollow: boolean): Promise<HostStat | undefined> {
    const p = checkAbsolutePath(path, this.name);
    const viaExec = await this.withoutSftp();
    if (viaExec) return viaExec.stat(p, noFollow);
    try {
      const s = await this.sftpCall<SftpStats>(`${noFollow ? 'lstat' : 'stat'} ${p}`, (sftp, cb) => (noFollow ? sftp.lstat(p, cb) : sftp.stat(p, cb)));
      const linkTarget = noFollow && typeFromMode(s.mode) === 'symlink' ? await this.sftpCall<string>(`readlink ${p}`, (sftp, cb) => sftp.readlink(p, cb)) : undefined;
      return toHostStat(s, linkTarget);
    } catch (err) {
      this.rethrowUnlessSftpStatus(err);
      if (sftpCode(err) === SFTP_NO_SUCH_FILE) return undefined;
      throw await explainFailure(this.name, p, 'file', sftpCode(err) === SFTP_PERMISSION_DENIED, err, async () => undefined);
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async glob(patterns: string | readonly string[], options: GlobOptions): Promise<string[]> {
    const list = normalizePatterns(patterns, this.name);
    const cwd = checkAbsolutePath(options.cwd, this.name, 'glob cwd');
    const top = await this.stat(cwd);
    if (!top) return [];
    if (top.type !== 'directory') throw hostError('HOST_NOT_A_DIRECTORY', `glob cwd ${cwd} is a ${top.type}, not a directory`, whereOf(this.name, cwd));
    const depth = listingDepth(list);
    if (depth !== undefined && !(await this.withoutSftp())) {
      // Patterns of bounded depth: fast-glob reads only the directories that can match, over the
      // SFTP session that is already open, many requests in flight at once. Starting a command
      // (sshd forks a session and a login shell) costs far more than the few round trips.
      return runGlob(this.name, list, options, cwd, async (abs) => (await this.stat(abs))?.type, globFsAdapter(this.sftpGlobFs()), SFTP_GLOB_CONCURRENCY);
    }
    // Any depth: one `find` lists every candidate; fast-glob then walks that listing in memory.
    const result = await this.exec(findArgv(listingDepth(list)), { cwd, env: { LC_ALL: 'C' }, timeoutMs: 5 * DEFAULT_RUN_TIMEOUT_MS });
    if (result.exitCode !== 0 && result.stderr.trim() === '') {
      throw hostError('HOST_GLOB_FAILED', `listing ${cwd} with find failed (exit ${result.exitCode})`, whereOf(this.name, cwd), {
        hint: 'remote globbing needs GNU find (findutils) on the reference host',
      });
    }
    const listing = parseListing(cwd, result.stdout, result.stderr, whereOf(this.name, cwd));
    const targetType = async (abs: string): Promise<HostEntryType | undefined> => listing.entries.get(abs)?.targetType;
    return runGlob(this.name, list, options, cwd, targetType, listingFs(listing));
  }

  /** fast-glob's view of the host through SFTP (readdir attributes are lstat's, as sftp-server reports them). */
  private sftpGlobFs(): GlobFs {
    const failed = (err: unknown, syscall: string, path: string): Error => {
      this.rethrowUnlessSftpStatus(err);
      const code = sftpCode(err);
      if (code === SFTP_NO_SUCH_FILE) return errno('ENOENT', syscall, path);
      if (code === SFTP_PERMISSION_DENIED) return errno('EACCES', syscall, path);
      return hostError('HOST_GLOB_FAILED', `reading ${path} over SFTP failed: ${(err as Error).message}`, whereOf(this.name, path));
    };
    return {
      readdir: async (path) => {
        try {
          const list = await this.sftpCall<{ filename: string; attrs: SftpStats }[]>(`readdir ${path}`, (sftp, cb) => sftp.readdir(path, cb));
          return list.filter((e) => e.filename !== '.' && e.filename !== '..').map((e) => ({ name: e.filename, type: typeFromMode(e.attrs.mode) }));
        } catch (err) {
          throw failed(err, 'scandir', path);
        }
      },
      typeOf: async (path, follow) => {
        try {
          return typeFromMode((await this.sftpCall<SftpStats>(`${follow ? 'stat' : 'lstat'} ${path}`, (sftp, cb) => (follow ? sftp.stat(path, cb) : sftp.lstat(path, cb)))).mode);
        } catch (err) {
          if (sftpCode(err) === SFTP_NO_SUCH_FILE) return undefined;
          throw failed(err, follow ? 'stat' : 'lstat', path);
        }
      },
    };
  }

  async run(command: readonly string[], options: HostRunOptions = {}): Promise<RunResult> {
    const r = await this.exec(command, options);
    return { exitCode: r.exitCode, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
  }

  /**
   * The remote command line: each argv element quoted for the login shell, which we assume
   * is POSIX. Environment values go in `stdin`, never in the line (see remote-env.ts).
   */
  private commandLine(command: readonly string[], options: RunOptions, withStdin = false): ExecLine {
    checkArgv(command, this.name);
    const env = remoteEnv(checkEnv(options.env, this.name));
    // The login shell's pid goes first on stderr: sshd made it a process-group leader, and
    // the command exec()s into it, so on timeout we can kill the group from a second channel.
    // (ssh2's channel.signal() is not enough: sshd ignores signal requests for root logins.)
    const parts: string[] = [`echo "$$" >&2;`];
    if (env.script) parts.push(env.script);
    if (options.cwd !== undefined) parts.push(this.cwdScript(options));
    // exec: the command replaces the shell, so a KILL signal on timeout reaches it directly.
    // </dev/null: no stdin, as locally. We cannot close the channel's stdin instead, because
    // ssh2 only sends signals on a channel whose writable side is still open.
    parts.push(`exec ${command.map(shellQuote).join(' ')}${withStdin ? '' : ' </dev/null'}`);
    return { line: parts.join(' '), stdin: env.stdin, what: command.join(' ') };
  }

  private async openExec({ line, stdin, what }: ExecLine): Promise<{ channel: ClientChannel; release: () => void }> {
    this.ensureOpen();
    // sshd refuses a channel beyond its MaxSessions (the SFTP session counts too), and counts a
    // session until it has cleaned it up, a moment after our side saw it close. A refusal while
    // other channels are open lowers our limit and waits for one of them; alone, it is tried a few
    // more times with a pause before it is an error.
    for (let attempt = 0; ; attempt++) {
      const release = await this.slots.acquire();
      try {
        this.ensureOpen();
        const done = this.trace.begin('session', what);
        const channel = await new Promise<ClientChannel>((resolve, reject) => this.client.exec(line, (err, ch) => (err ? reject(err) : resolve(ch))));
        channel.once('close', done);
        this.slots.succeeded();
        channel.once('close', release);
        if (stdin.length > 0) channel.write(stdin);
        return { channel, release };
      } catch (err) {
        const refused = !(err instanceof UserError) && /channel open failure/i.test((err as Error).message);
        const crowded = refused && this.slots.others > 0;
        if (crowded) this.slots.shrink();
        release();
        if (err instanceof UserError) throw err;
        if (refused && attempt < 20 && (crowded || attempt < 5)) {
          await new Promise((r) => setTimeout(r, 20 * Math.min(2 ** attempt, 16)));
          continue;
        }
        throw hostError('HOST_COMMAND_FAILED', `cannot start a command on ${this.name}: ${(err as Error).message}`, this.name, { cause: err });
      }
    }
  }

  /** Strips the pid line (see commandLine) from a channel's stderr. */
  private splitPid(channel: ClientChannel): { stderr: PassThrough; pid: Promise<number | undefined> } {
    const stderr = new PassThrough();
    let head: Buffer | undefined = Buffer.alloc(0);
    let resolvePid: (pid: number | undefined) => void = () => {};
    const pid = new Promise<number | undefined>((resolve) => (resolvePid = resolve));
    channel.stderr.on('data', (chunk: Buffer) => {
      if (head === undefined) {
        stderr.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(0x0a);
      if (nl === -1) return;
      const n = Number(head.subarray(0, nl).toString('latin1'));
      resolvePid(Number.isInteger(n) && n > 1 ? n : undefined);
      const rest = head.subarray(nl + 1);
      head = undefined;
      if (rest.length > 0) stderr.write(rest);
    });
    channel.stderr.once('end', () => {
      resolvePid(undefined);
      stderr.end();
    });
    channel.once('close', () => {
      resolvePid(undefined);
      if (!stderr.writableEnded) stderr.end();
    });
    return { stderr, pid };
  }

  /** Kills the remote process group from a separate channel, then drops the command's channel. */
  private killRemote(channel: ClientChannel, pid: Promise<number | undefined>): void {
    void pid.then((p) => {
      if (p !== undefined) this.killGroup(p);
      channel.close();
    });
  }

  /** Kills a process group on the host from an exec channel of its own (outside the slots: it must not wait). */
  private killGroup(pgid: number): void {
    if (this.closed) return;
    // procps kill understands "-- -pgid"; dash's builtin does not, hence the fallbacks.
    const line = `/bin/kill -s KILL -- -${pgid} 2>/dev/null || /usr/bin/kill -s KILL -- -${pgid} 2>/dev/null || kill -s KILL ${pgid}`;
    this.trace.begin('session', `kill -${pgid}`)();
    this.client.exec(line, (err, ch) => {
      if (err) return;
      ch.resume();
      ch.stderr.resume();
    });
  }

  /**
   * The command's exit status once its channel has closed and its stderr has drained (so no
   * output is lost after 'close'); undefined when no status came (the connection dropped).
   */
  private finished(channel: ClientChannel, stderr: PassThrough): Promise<number | undefined> {
    return new Promise((resolve) => {
      let exitCode: number | undefined;
      let pending = 2;
      const one = () => {
        if (--pending === 0) resolve(exitCode);
      };
      channel.on('exit', (code: number | null, signal?: string) => {
        exitCode = code ?? exitCodeForSignal(signal ?? 'KILL');
      });
      stderr.once('end', one);
      channel.once('close', one);
    });
  }

  private async exec(command: readonly string[], options: HostRunOptions): Promise<{ exitCode: number; stdout: Buffer; stderr: string }> {
    this.ensureOpen();
    checkArgv(command, this.name);
    const timeoutMs = checkTimeout(options.timeoutMs, DEFAULT_RUN_TIMEOUT_MS, this.name);
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    if (options.signal?.aborted) throw abortedError(this.name, command);
    // A command fed with input keeps a channel of its own: its stdin is that channel's.
    const ran = (options.input === undefined ? await this.execOnRunner(command, options, timeoutMs, max) : undefined) ?? (await this.execOnChannel(command, options, timeoutMs, max));
    if (ran.aborted) throw abortedError(this.name, command);
    if (ran.timedOut) throw timeoutError(this.name, command, timeoutMs);
    if (ran.output.overflowed) throw overflowError(this.name, command, max);
    if (ran.exitCode === undefined) {
      this.ensureOpen();
      throw hostError('HOST_COMMAND_FAILED', `command ${JSON.stringify(command.join(' '))} ended without an exit status${ran.lost ? `: ${ran.lost}` : ''}`, this.name, {
        hint: 'the connection may have dropped, or something on the host killed the session; try again',
      });
    }
    const stderr = ran.output.stderrText();
    if (ran.exitCode === 254 && stderr.trim() === CWD_FAILED && options.cwd !== undefined) {
      const cwd = checkAbsolutePath(options.cwd, this.name, 'cwd');
      const s = await this.stat(cwd);
      if (!s) throw hostError('HOST_PATH_NOT_FOUND', `working directory ${cwd} does not exist`, whereOf(this.name, cwd));
      if (s.type !== 'directory') throw hostError('HOST_NOT_A_DIRECTORY', `working directory ${cwd} is a ${s.type}`, whereOf(this.name, cwd));
      throw hostError('HOST_PERMISSION_DENIED', `cannot enter working directory ${cwd}`, whereOf(this.name, cwd));
    }
    return { exitCode: ran.exitCode, stdout: ran.output.stdoutBuffer(), stderr };
  }

  /** The shell text that enters RunOptions.cwd, telling its failure apart from the command's own. */
  private cwdScript(options: RunOptions): string {
    if (options.cwd === undefined) return '';
    const cwd = checkAbsolutePath(options.cwd, this.name, 'cwd');
    return `cd -- ${shellQuote(cwd)} 2>/dev/null || { echo ${CWD_FAILED} >&2; exit 254; };`;
  }

  /** One command on a command runner (command-runner.ts); undefined when the host has none to offer. */
  private execOnRunner(command: readonly string[], options: HostRunOptions, timeoutMs: number, max: number): Promise<Ran | undefined> {
    const request = runnerRequest(command, checkEnv(options.env, this.name), this.cwdScript(options));
    return new Promise<Ran | undefined>((resolve) => {
      this.runners.submit({
        fallback: () => resolve(undefined),
        start: (runner) => {
          const traced = this.trace.begin('runner', command.join(' '));
          const output = new OutputCollector(max);
          const group = this.runnerGroup(runner);
          const limits = watchLimits(timeoutMs, options.signal, () => group.kill());
          runner.run(request, {
            stdout: (chunk) => {
              if (!output.push('stdout', chunk)) group.kill();
            },
            stderr: (chunk) => {
              if (!output.push('stderr', chunk)) group.kill();
            },
            started: (pid) => group.started(pid),
            finished: (exitCode, lost) => {
              group.finished(lost);
              limits.done();
              traced();
              resolve({ exitCode, timedOut: limits.timedOut, aborted: limits.aborted, output, ...(lost === undefined ? {} : { lost }) });
            },
          });
        },
      });
    });
  }

  /**
   * The process group of a command on `runner`: killed from a channel of its own once its pid is
   * known; if the runner does not report the end after that, the runner goes. A command whose
   * runner went under it is killed too, so it cannot outlive it unseen.
   */
  private runnerGroup(runner: Runner): { started(pid: number): void; kill(): void; readonly killed: boolean; finished(lost: string | undefined): void } {
    let pid: number | undefined;
    let killed = false;
    let stuck: NodeJS.Timeout | undefined;
    return {
      started: (p) => {
        pid = p;
        if (killed) this.killGroup(p);
      },
      kill: () => {
        if (killed) return;
        killed = true;
        if (pid !== undefined) this.killGroup(pid);
        stuck = setTimeout(() => runner.destroy(), 5000);
      },
      get killed() {
        return killed;
      },
      finished: (lost) => {
        if (lost !== undefined && pid !== undefined && !killed) this.killGroup(pid);
        clearTimeout(stuck);
      },
    };
  }

  /** One command on an exec channel of its own (a session and a login shell on the host). */
  private async execOnChannel(command: readonly string[], options: HostRunOptions, timeoutMs: number, max: number): Promise<Ran> {
    const line = this.commandLine(command, options, options.input !== undefined);
    const { channel } = await this.openExec(line);
    // After the environment lines (openExec wrote them): the command's own input, then EOF.
    if (options.input !== undefined) channel.end(typeof options.input === 'string' ? options.input : Buffer.from(options.input));
    const { stderr: errStream, pid } = this.splitPid(channel);
    const output = new OutputCollector(max);
    return new Promise<Ran>((resolve) => {
      let killed = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        this.killRemote(channel, pid);
      };
      const limits = watchLimits(timeoutMs, options.signal, kill);
      channel.on('data', (chunk: Buffer) => {
        if (!output.push('stdout', chunk)) kill();
      });
      errStream.on('data', (chunk: Buffer) => {
        if (!output.push('stderr', chunk)) kill();
      });
      void this.finished(channel, errStream).then((exitCode) => {
        limits.done();
        resolve({ exitCode, timedOut: limits.timedOut, aborted: limits.aborted, output });
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

  /**
   * Runs a command whose stdin this side writes, with its output streamed as it comes (not
   * collected): what deploying needs beyond the read-only ReferenceHost. `stdin: stream`
   * feeds the command (a tar archive) and then closes its stdin; `stdin: 'hold'` keeps it
   * open and empty until the command ends, so a program watching its stdin (the agent's
   * --exit-with-stdin) ends when this process or its connection goes away. Without it, stdin
   * is /dev/null, as for run(). On timeout or abort the remote process group is killed and
   * the result says why; the command's own exit status otherwise.
   */
  async runStreaming(command: readonly string[], options: StreamingRunOptions): Promise<StreamingRunResult> {
    const holdOrFeed = options.stdin !== undefined;
    const line = this.commandLine(command, options, holdOrFeed);
    const timeoutMs = checkTimeout(options.timeoutMs, DEFAULT_RUN_TIMEOUT_MS, this.name);
    if (options.signal?.aborted) return { exitCode: undefined, stopped: 'abort' };
    const { channel } = await this.openExec(line);
    const { stderr, pid } = this.splitPid(channel);
    return new Promise<StreamingRunResult>((resolve) => {
      let stopped: 'timeout' | 'abort' | undefined;
      const kill = (why: 'timeout' | 'abort') => {
        if (stopped) return;
        stopped = why;
        this.killRemote(channel, pid);
      };
      const limits = watchLimits(timeoutMs, options.signal, kill);
      channel.on('data', (c: Buffer) => options.onOutput?.(c));
      stderr.on('data', (c: Buffer) => (options.onStderr ?? options.onOutput)?.(c));
      void this.finished(channel, stderr).then((exitCode) => {
        limits.done();
        resolve({ exitCode, ...(stopped ? { stopped } : {}) });
      });
      if (options.stdin && options.stdin !== 'hold') {
        const input = options.stdin;
        input.once('error', () => kill('abort'));
        input.pipe(channel);
      }
    });
  }

  /** What this connection has cost the host so far (sessions, runner commands, SFTP calls); see ssh-trace.ts. */
  get stats(): SshStats {
    return this.trace.stats;
  }

  /** Bytes of tar streams received so far on this connection, as they crossed it (compressed unless tarTransfer is 'none'). */
  get tarBytesReceived(): number {
    return this.#tarBytes;
  }

  tarStream(root: string, options: TarStreamOptions = {}): Readable {
    const r = checkAbsolutePath(root, this.name, 'tar root');
    const paths = checkTarPaths(options.paths, this.name);
    const tar = tarArgs(r, options.excludes ?? [], paths);
    const transfer = this.tarTransfer;
    const command = transfer === 'none' ? tar : compressedTarCommand(tar, transfer);
    const out = new TarOutput(this.name, r, options.tolerateChangedFiles);
    // On a command runner when there is one (no session to start), else on a channel of its own.
    this.streamOnRunner(command)
      .then((started) => started ?? this.streamOnChannel(command))
      .then(
        (started) => this.attachTar(out, r, started, options.tolerateChangedFiles),
        (err: unknown) => out.fail(err instanceof Error ? err : new Error(String(err))),
      );
    return out.stream;
  }

  /** Feeds a started tar command to the stream tarStream returned, decoding the transfer. */
  private attachTar(out: TarOutput, root: string, started: StartedCommand, tolerateChangedFiles: boolean | undefined): void {
    const lost = () => hostError('HOST_TAR_FAILED', `tar of ${root} ended without an exit status (connection lost?)`, this.name);
    if (this.tarTransfer === 'none') {
      started.stdout.on('data', (c: Buffer) => (this.#tarBytes += c.length));
      const exit = started.exit.then((code) => (code === undefined ? Promise.reject(lost()) : code));
      out.attach({ stdout: started.stdout, stderr: started.stderr, exit, kill: started.kill });
      return;
    }
    const decoded = decodeTransfer(started.stdout, this.name);
    // tar's own failure explains a cut stream best; a decoding error counts only when tar succeeded.
    const exit = Promise.all([started.exit, decoded.done]).then(([code, decodeError]) => {
      this.#tarBytes += decoded.received();
      if (decodeError && (code === undefined || tarExitOk(code, tolerateChangedFiles))) {
        throw hostError('HOST_TAR_FAILED', `the compressed tar stream of ${root} could not be decoded: ${decodeError.message}`, this.name, {
          hint: 'check that gzip (or zstd) works on the host; set tarTransfer to none to move plain tar',
          cause: decodeError,
        });
      }
      if (code === undefined) throw lost();
      return code;
    });
    // When the consumer has already gone, attach() never waits on exit: its failure is then moot.
    exit.catch(() => undefined);
    out.attach({
      stdout: decoded.stream,
      stderr: started.stderr,
      exit,
      kill: () => {
        decoded.stop();
        started.kill();
      },
    });
  }

  /** A command whose output is streamed, on an exec channel of its own. */
  private async streamOnChannel(command: readonly string[]): Promise<StartedCommand> {
    const { channel } = await this.openExec(this.commandLine(command, {}));
    let exitCode: number | undefined;
    channel.on('exit', (code: number | null, signal?: string) => {
      exitCode = code ?? exitCodeForSignal(signal ?? 'KILL');
    });
    const exit = new Promise<number | undefined>((resolve) => channel.once('close', () => resolve(exitCode)));
    const { stderr, pid } = this.splitPid(channel);
    return { stdout: channel, stderr, exit, kill: () => this.killRemote(channel, pid) };
  }

  /**
   * A command whose output is streamed, on a command runner: the runner's channel is paused
   * while the reader is behind, so the stream keeps SSH's flow control. Undefined when the host
   * has no runner to offer.
   */
  private streamOnRunner(command: readonly string[]): Promise<StartedCommand | undefined> {
    const request = runnerRequest(command, [], '');
    return new Promise<StartedCommand | undefined>((resolve) => {
      this.runners.submit({
        fallback: () => resolve(undefined),
        start: (runner) => {
          const traced = this.trace.begin('runner', command.join(' '));
          const stdout = new PassThrough();
          const stderr = new PassThrough();
          let settle: (code: number | undefined) => void = () => undefined;
          const exit = new Promise<number | undefined>((r) => (settle = r));
          const group = this.runnerGroup(runner);
          const kill = () => {
            // Whatever is still in flight is dropped: the runner must read on to its end marker.
            runner.resume();
            group.kill();
          };
          const feed = (stream: PassThrough, chunk: Buffer) => {
            if (group.killed || stream.destroyed) return;
            if (!stream.write(chunk)) {
              runner.pause();
              stream.once('drain', () => runner.resume());
            }
          };
          runner.run(request, {
            stdout: (chunk) => feed(stdout, chunk),
            stderr: (chunk) => feed(stderr, chunk),
            started: (pid) => group.started(pid),
            finished: (exitCode, lost) => {
              group.finished(lost);
              traced();
              runner.resume();
              stdout.end();
              stderr.end();
              settle(exitCode);
            },
          });
          resolve({ stdout, stderr, exit, kill });
        },
      });
    });
  }

  close(): Promise<void> {
    this.trace.flush();
    if (!this.closePromise) {
      this.closePromise = new Promise<void>((resolve) => {
        if (this.closed) return resolve();
        this.client.once('close', () => resolve());
        this.client.end();
      });
      this.closed = true;
    }
    return this.closePromise;
  }
}

/**
 * Calls `kill` with the cause when the time limit passes or the signal fires (at once if it
 * already has), and says which it was; `done()` once the command has ended.
 */
function watchLimits(timeoutMs: number, signal: AbortSignal | undefined, kill: (why: 'timeout' | 'abort') => void): { readonly timedOut: boolean; readonly aborted: boolean; done(): void } {
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill('timeout');
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill('abort');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  return {
    get timedOut() {
      return timedOut;
    },
    get aborted() {
      return aborted;
    },
    done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

function abortedError(host: string, command: readonly string[]): UserError {
  return hostError('HOST_COMMAND_ABORTED', `command ${JSON.stringify(command.join(' '))} was stopped on the host: the job was interrupted`, host);
}

function connectError(err: Error & { level?: string; code?: string }, target: SshTarget, auth: AuthPlan, timeoutMs: number): UserError {
  const where = formatSshTarget(target);
  if (err.level === 'client-authentication') {
    return new UserError('SSH_AUTH_FAILED', `${target.user} could not log in to ${target.host}:${target.port}; tried ${auth.offered.join(', ')}`, {
      where,
      hint: `add the matching public key to ~${target.user}/.ssh/authorized_keys on the host, or pass the right --identity-file / load it into ssh-agent`,
      cause: err,
    });
  }
  const net: Record<string, [string, string]> = {
    ECONNREFUSED: ['connection refused', `check that sshd runs on ${target.host} and listens on port ${target.port}`],
    ENOTFOUND: ['host name not found', `check the spelling of ${target.host}, or use its IP address`],
    EAI_AGAIN: ['host name lookup failed', 'check DNS, or use the IP address'],
    EHOSTUNREACH: ['host unreachable', 'check the network route and firewall'],
    ENETUNREACH: ['network unreachable', 'check the network route'],
    ETIMEDOUT: ['connection timed out', `check that port ${target.port} is open in the firewall`],
    ECONNRESET: ['connection reset by the host', 'check sshd logs on the host (MaxStartups, AllowUsers, TCP wrappers)'],
  };
  const known = err.code ? net[err.code] : undefined;
  if (known) {
    return new UserError('SSH_CONNECT_FAILED', `cannot connect to ${target.host}:${target.port}: ${known[0]}`, { where, hint: known[1], cause: err });
  }
  if (/timed out/i.test(err.message)) {
    return new UserError('SSH_CONNECT_FAILED', `no SSH handshake with ${target.host}:${target.port} within ${timeoutMs} ms`, {
      where,
      hint: 'check that the port is an SSH server and reachable, or raise the connect timeout',
      cause: err,
    });
  }
  return new UserError('SSH_CONNECT_FAILED', `SSH connection to ${where} failed: ${err.message}`, {
    where,
    hint: 'check that the host runs an OpenSSH server on that port',
    cause: err,
  });
}

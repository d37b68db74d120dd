/**
 * The SSH target: `ssh://user@host[:port]`. The connection, login, host key check and
 * commands are the host layer's (SshHost: connect as for introspection, runStreaming for
 * commands with stdin), so a deployment trusts exactly the hosts an introspection would.
 *
 * A bundle travels as one tar stream over one exec channel (written here by tar-dir.ts, read
 * by the host's `tar -x`): one round trip and one remote program for the whole directory,
 * instead of one SFTP request per file.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { ContainerModule, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import type { SshHost, StreamingRunResult } from '../host/ssh-host.js';
import { HostLauncher } from './host-launcher.js';
import { interrupted, timedOut } from './process-run.js';
import { tarDirectory, tarDirectorySize } from './tar-dir.js';
import { DeploymentTarget, MIN_NODE_MAJOR, nodeMajor, type AgentRun, type ShipAndRun, type TargetConnection, type TargetOptions } from './target.js';

const SSH_URL = /^ssh:\/\/(.+)$/;

/** Where ship() unpacks: the archive holds the bundle under its absolute path less the slash. */
const UNTAR = ['tar', '-C', '/', '--recursive-unlink', '-xf', '-'];

/**
 * shipAndRun's remote program (arguments: SIZE MARKER COMMAND...): unpacks exactly SIZE bytes of
 * stdin (tar alone would drain the stream to its end, and it stays open for the agent), prints
 * MARKER, then becomes the agent, whose stdin is still the channel's.
 */
const SHIP_THEN_EXEC = `n=$1 m=$2; shift 2; head -c "$n" | ${UNTAR.join(' ')} || exit; printf '%s\\n' "$m"; exec "$@"`;

/** What the host said before the bundle was in place, for the error (tar's complaints): the end of it. */
const KEEP_SHIP_OUTPUT = 32 * 1024;

/** How long the host launcher may take to report that it runs before deploy does without it. */
const LAUNCHER_START_MS = 20_000;

export interface SshConnectionOptions {
  /** The host launcher's argv (default: launcherArgv()); tests give one that cannot start. */
  readonly launcher?: readonly string[];
}

export class SshConnection implements TargetConnection {
  #identity: Promise<{ hostname: string; address: string }> | undefined;
  /** The host launcher while it runs; undefined before the first deploy or after it ended. */
  #launcher: Promise<HostLauncher> | undefined;
  /** Why the launcher could not start: then every instance has a session of its own. */
  #noLauncher: string | undefined;

  constructor(
    readonly spec: string,
    private readonly host: SshHost,
    private readonly options: SshConnectionOptions = {},
  ) {}

  private get where(): string {
    return this.spec;
  }

  identity(): Promise<{ hostname: string; address: string }> {
    this.#identity ??= this.host.run(['hostname'], { timeoutMs: 20_000 }).then((r) => ({
      hostname: r.exitCode === 0 ? r.stdout.trim() : this.host.target.host,
      address: this.host.target.host,
    }));
    return this.#identity;
  }

  async check(): Promise<{ node: string }> {
    const r = await this.host.run(['node', '--version'], { timeoutMs: 20_000 });
    const install = `install Node.js ${MIN_NODE_MAJOR} or later on that host so that \`node\` is on the login PATH (Debian 13: apt-get install nodejs; older releases: NodeSource or nodejs.org binaries)`;
    if (r.exitCode === 127) {
      throw new UserError('DEPLOY_TARGET_NODE_MISSING', 'Node.js is not installed (no `node` command on the PATH); the abctl agent needs it', { where: this.where, hint: install });
    }
    const major = nodeMajor(r.stdout);
    if (r.exitCode !== 0 || major === undefined) {
      throw new UserError('DEPLOY_TARGET_NODE_MISSING', `\`node --version\` failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 200)}`, { where: this.where, hint: install });
    }
    if (major < MIN_NODE_MAJOR) {
      throw new UserError('DEPLOY_TARGET_NODE_TOO_OLD', `the host runs Node.js ${r.stdout.trim()}; the abctl agent needs ${MIN_NODE_MAJOR} or later`, { where: this.where, hint: install });
    }
    return { node: r.stdout.trim() };
  }

  /** One command through the host layer; timeout, abort and a lost connection become deploy errors. */
  private async exec(argv: readonly string[], opts: { what: string; timeoutMs: number; signal?: AbortSignal | undefined; onOutput?: (c: Buffer) => void; stdin?: Readable | 'hold' }): Promise<number> {
    const r = await this.host.runStreaming(argv, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
    });
    return this.exitCode(r, opts);
  }

  /** A remote command's end as deploy sees it: stopped by a limit or Ctrl-C, or its connection lost, is an error. */
  private exitCode(r: StreamingRunResult, opts: { what: string; timeoutMs: number }): number {
    const run = { what: opts.what, where: this.where, timeoutMs: opts.timeoutMs };
    if (r.stopped === 'timeout') throw timedOut(run);
    if (r.stopped === 'abort') throw interrupted(run);
    if (r.exitCode === undefined) {
      throw new UserError('DEPLOY_CONNECTION_LOST', `${opts.what} ended without an exit status: the SSH connection dropped`, { where: this.where, hint: 'check the host, then run the command again to resume' });
    }
    return r.exitCode;
  }

  async ship(from: string, to: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const dir = posix.normalize(to);
    let remoteOut = '';
    let readErr: unknown;
    // Stored under its absolute path (less the slash) and unpacked at /: tar creates the
    // parents and, with --recursive-unlink, empties an older copy first. One program there.
    const archive = tarDirectory(from, dir.slice(1));
    archive.once('error', (err) => (readErr = err));
    let code: number;
    try {
      code = await this.exec(UNTAR, {
        what: `shipping the bundle to ${dir}`,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        onOutput: (c) => (remoteOut += c.toString('utf8')),
        stdin: archive,
      });
    } catch (err) {
      throw readErr !== undefined ? readFailed(from, readErr) : err;
    } finally {
      archive.destroy();
    }
    if (code !== 0) throw this.unpackFailed(dir, code, remoteOut);
  }

  /**
   * ship() and runNode() for every instance on this host through one host launcher
   * (host-launcher.ts): one session for the whole deploy. When the launcher cannot start, each
   * instance gets a session of its own (shipAndRunAlone), as before it existed.
   */
  async shipAndRun(from: string, to: string, run: ShipAndRun): Promise<number> {
    const launcher = await this.launcher();
    if (!launcher) {
      run.onOutput(Buffer.from(`abctl: one SSH session for this instance: ${this.#noLauncher ?? 'no host launcher'}\n`));
      return this.shipAndRunAlone(from, to, run);
    }
    const dir = posix.normalize(to);
    const archive = tarDirectory(from, dir.slice(1));
    const timeoutMs = run.shipTimeoutMs + run.timeoutMs;
    const what = `shipping the bundle to ${dir} and node ${run.args[1] ?? ''}`;
    const r = await launcher
      .run({ archive, unpack: UNTAR, agent: run.args, ...(run.input !== undefined ? { input: run.input } : {}), timeoutMs, signal: run.signal, onOutput: run.onOutput, onShipped: run.onShipped })
      .catch((err: unknown) => Promise.reject(readFailed(from, err)));
    const code = this.exitCode(r, { what, timeoutMs });
    if (!r.shipped) throw this.unpackFailed(dir, code, r.shipOutput);
    return code;
  }

  /** The running launcher, started on first use; undefined once it could not start on this connection. */
  private async launcher(): Promise<HostLauncher | undefined> {
    if (this.#noLauncher !== undefined) return undefined;
    if (!this.#launcher) {
      const starting = HostLauncher.start(this.host, { startTimeoutMs: LAUNCHER_START_MS, ...(this.options.launcher ? { argv: this.options.launcher } : {}) });
      this.#launcher = starting;
      // Gone (its channel closed): the next instance starts another.
      void starting.then((l) => l.ended.then(() => this.#launcher === starting && (this.#launcher = undefined)), () => undefined);
    }
    try {
      return await this.#launcher;
    } catch (err) {
      this.#noLauncher ??= (err as Error).message;
      return undefined;
    }
  }

  /**
   * ship() and runNode() in one exec channel: each channel makes sshd start a session and the
   * user's login shell, whose rc files can cost more than the agent itself (root's .bashrc on
   * this project's test machine: ~110 ms of CPU), and deploying starts one per instance.
   * The archive's size goes ahead so that the host reads exactly that much; the stream then
   * stays open and empty until the agent ends, as runNode's 'hold' does.
   */
  private async shipAndRunAlone(from: string, to: string, run: ShipAndRun): Promise<number> {
    const dir = posix.normalize(to);
    const size = await tarDirectorySize(from, dir.slice(1)).catch((err: unknown) => Promise.reject(readFailed(from, err)));
    const archive = tarDirectory(from, dir.slice(1));
    const stdin = new PassThrough();
    let readErr: unknown;
    let sent = 0;
    const stop = (err: unknown) => {
      readErr ??= err;
      stdin.destroy(err instanceof Error ? err : new Error(String(err)));
    };
    archive.on('data', (c: Buffer) => (sent += c.length));
    archive.once('error', stop);
    archive.once('end', () => {
      // Short, the host would wait for the rest until the time limit; long, the agent would read it.
      if (sent !== size) stop(new UserError('DEPLOY_SHIP_FAILED', `the bundle ${from} changed while it was being shipped (${size} -> ${sent} bytes of archive)`, { where: from, hint: 'run the command again' }));
      // What follows the archive's exact size is the agent's: its key line first.
      else if (run.input !== undefined) stdin.write(run.input);
    });
    archive.pipe(stdin, { end: false });

    const marker = Buffer.from(`${randomBytes(16).toString('hex')}\n`, 'latin1');
    let shipped = false;
    let before = Buffer.alloc(0);
    const onOutput = (chunk: Buffer): void => {
      if (shipped) return run.onOutput(chunk);
      before = Buffer.concat([before, chunk]);
      const at = before.indexOf(marker);
      if (at === -1) {
        if (before.length > 2 * KEEP_SHIP_OUTPUT) before = before.subarray(before.length - KEEP_SHIP_OUTPUT);
        return;
      }
      shipped = true;
      const after = before.subarray(at + marker.length);
      before = before.subarray(0, at);
      run.onShipped();
      // On success tar says nothing; whatever came is worth keeping in the instance's log.
      if (before.length > 0) run.onOutput(before);
      if (after.length > 0) run.onOutput(after);
    };
    let code: number;
    try {
      code = await this.exec(['sh', '-c', SHIP_THEN_EXEC, 'abctl-ship', String(size), marker.toString('latin1', 0, marker.length - 1), 'node', ...run.args], {
        what: `shipping the bundle to ${dir} and node ${run.args[1] ?? ''}`,
        timeoutMs: run.shipTimeoutMs + run.timeoutMs,
        signal: run.signal,
        onOutput,
        stdin,
      });
    } catch (err) {
      throw readErr !== undefined ? readFailed(from, readErr) : err;
    } finally {
      archive.destroy();
      stdin.destroy();
    }
    if (!shipped) throw this.unpackFailed(dir, code, before.toString('utf8'));
    return code;
  }

  private unpackFailed(dir: string, code: number, remoteOut: string): UserError {
    return new UserError('DEPLOY_SHIP_FAILED', `unpacking the bundle into ${dir} failed (exit ${code}): ${remoteOut.trim().slice(0, 300)}`, {
      where: this.where,
      hint: 'check that the user may write there, that the disk has room and that GNU tar is installed on the host',
    });
  }

  async runNode(run: AgentRun): Promise<number> {
    // stdin held open: the agent (--exit-with-stdin) ends when this side or the connection goes;
    // an input (the key line) goes first, over the channel, not on the command line.
    const input = run.input === undefined ? undefined : new PassThrough();
    input?.write(run.input);
    try {
      return await this.exec(['node', ...run.args], { what: `node ${run.args[1] ?? ''}`, timeoutMs: run.timeoutMs, signal: run.signal, onOutput: run.onOutput, stdin: input ?? 'hold' });
    } finally {
      input?.destroy();
    }
  }

  async remove(dir: string, opts: { timeoutMs: number }): Promise<void> {
    const r = await this.host.run(['rm', '-rf', '--', posix.normalize(dir)], { timeoutMs: opts.timeoutMs });
    if (r.exitCode !== 0) {
      throw new UserError('DEPLOY_REMOVE_FAILED', `removing ${dir} failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 300)}`, { where: this.where });
    }
  }

  async close(): Promise<void> {
    const launcher = this.#launcher;
    this.#launcher = undefined;
    await launcher?.then((l) => l.close(), () => undefined);
    await this.host.close();
  }
}

/** Reading the local bundle failed (the error as it came when it is already ours). */
function readFailed(from: string, err: unknown): UserError {
  return err instanceof UserError ? err : new UserError('DEPLOY_SHIP_FAILED', `reading the bundle ${from} failed: ${String((err as Error).message ?? err)}`, { where: from, cause: err });
}

@injectable()
export class SshDeploymentTarget implements DeploymentTarget {
  readonly kind = 'ssh';
  accepts(spec: string): boolean {
    return SSH_URL.test(spec);
  }
  async open(spec: string, options: TargetOptions): Promise<TargetConnection> {
    const rest = SSH_URL.exec(spec)?.[1] ?? spec;
    // Loaded here: most commands never go remote, and ssh2 takes a while to load.
    const { SshHost } = await import('../host/ssh-host.js');
    const host = await SshHost.connect(rest, {
      ...(options.identityFile !== undefined ? { identityFile: options.identityFile } : {}),
      ...(options.knownHostsFile !== undefined ? { knownHostsFile: options.knownHostsFile } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.insecureSkipHostKeyCheck === true ? { insecureSkipHostKeyCheck: true } : {}),
      // Instances run in parallel on one host; the host layer queues channels beyond this (sshd MaxSessions is 10 by default).
      maxChannels: 8,
      // Deploy reads no files there: no SFTP session to start.
      warmSftp: false,
    });
    return new SshConnection(spec, host);
  }
}

/** Contributes the `ssh://` target. */
export const sshTargetModule = new ContainerModule(({ bind }) => {
  bind<DeploymentTarget>(DeploymentTarget).to(SshDeploymentTarget).inSingletonScope();
});

/**
 * The SSH target: `ssh://user@host[:port]`. The connection, login and host key check are the
 * host layer's (SshHost.connect, as for introspection: known_hosts, identity files, agent),
 * so a deployment trusts exactly the hosts an introspection would.
 *
 * A bundle travels as one tar stream over one exec channel (local `tar -c` piped into remote
 * `tar -x`): one round trip for the whole directory instead of one SFTP request per file.
 */
import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { ContainerModule, injectable } from 'inversify';
import type { Client, ClientChannel } from 'ssh2';
import { UserError } from '../../core/errors.js';
import { shellQuote } from '../host/common.js';
import type { SshHost } from '../host/ssh-host.js';
import { interrupted, timedOut } from './process-run.js';
import { DeploymentTarget, MIN_NODE_MAJOR, nodeMajor, type AgentRun, type TargetConnection, type TargetOptions } from './target.js';

const SSH_URL = /^ssh:\/\/(.+)$/;

/**
 * The ssh2 client behind an SshHost. ReferenceHost is read-only by design (no stdin, no
 * writes), and deploy must stream into a remote `tar -x`; until the host layer offers an exec
 * with a stdin stream, we borrow its authenticated connection rather than open a second one.
 */
function clientOf(host: SshHost): Client {
  const client = (host as unknown as { client?: Client }).client;
  if (!client || typeof client.exec !== 'function') throw new Error('internal error: the SSH host layer no longer exposes its connection to deploy');
  return client;
}

/** Where a remote process prints its pid before exec'ing the real command (see execLine). */
const PID_MARK = 'abctl-remote-pid';

/**
 * OpenSSH allows 10 sessions per connection (MaxSessions); the host layer keeps up to 8 of
 * its own. Our channels wait for one of these slots instead of being refused by the server.
 */
const CHANNELS_PER_HOST = 8;

class SshConnection implements TargetConnection {
  #identity: Promise<{ hostname: string; address: string }> | undefined;
  #free = CHANNELS_PER_HOST;
  #waiting: (() => void)[] = [];

  async #slot(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  constructor(
    readonly spec: string,
    private readonly host: SshHost,
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

  /** One exec channel; `onStdout`/`onStderr` get the output with the pid line removed. */
  private async exec(
    line: string,
    opts: { what: string; timeoutMs: number; signal?: AbortSignal | undefined; onOutput?: (c: Buffer) => void; feed?: (ch: ClientChannel) => void },
  ): Promise<number> {
    const release = await this.#slot();
    try {
      return await this.execNow(line, opts);
    } finally {
      release();
    }
  }

  private execNow(
    line: string,
    opts: { what: string; timeoutMs: number; signal?: AbortSignal | undefined; onOutput?: (c: Buffer) => void; feed?: (ch: ClientChannel) => void },
  ): Promise<number> {
    const client = clientOf(this.host);
    const full = `echo ${PID_MARK} $$ >&2; ${line}`;
    return new Promise<number>((resolve, reject) => {
      const run = { what: opts.what, where: this.where, timeoutMs: opts.timeoutMs };
      if (opts.signal?.aborted) return reject(interrupted(run));
      client.exec(full, (err, channel) => {
        if (err) {
          return reject(new UserError('DEPLOY_COMMAND_FAILED', `${opts.what}: cannot open an SSH channel: ${err.message}`, { where: this.where, cause: err }));
        }
        let pid: number | undefined;
        let head: Buffer | undefined = Buffer.alloc(0);
        let exit: number | undefined;
        let why: 'timeout' | 'abort' | undefined;
        const kill = (reason: 'timeout' | 'abort') => {
          why ??= reason;
          // sshd makes the session's shell a process group leader; the command exec'd into it.
          if (pid !== undefined) {
            client.exec(`kill -s KILL -- -${pid} 2>/dev/null || kill -s KILL ${pid}`, (e, ch) => {
              if (!e) ch.resume().stderr.resume();
            });
          }
          channel.close();
        };
        const timer = setTimeout(() => kill('timeout'), opts.timeoutMs);
        const onAbort = () => kill('abort');
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        channel.on('data', (c: Buffer) => opts.onOutput?.(c));
        channel.stderr.on('data', (c: Buffer) => {
          if (head === undefined) return opts.onOutput?.(c);
          head = Buffer.concat([head, c]);
          const nl = head.indexOf(0x0a);
          if (nl === -1) return;
          const m = new RegExp(`^${PID_MARK} (\\d+)$`).exec(head.subarray(0, nl).toString('latin1'));
          if (m) pid = Number(m[1]);
          const rest = m ? head.subarray(nl + 1) : head;
          head = undefined;
          if (rest.length) opts.onOutput?.(rest);
        });
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = code ?? (signal ? 137 : undefined);
        });
        channel.once('close', () => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          if (why === 'timeout') reject(timedOut(run));
          else if (why === 'abort') reject(interrupted(run));
          else if (exit === undefined) reject(new UserError('DEPLOY_CONNECTION_LOST', `${opts.what} ended without an exit status: the SSH connection dropped`, { where: this.where, hint: 'check the host, then run the command again to resume' }));
          else resolve(exit);
        });
        if (opts.feed) opts.feed(channel);
        else channel.end();
      });
    });
  }

  async ship(from: string, to: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const dir = posix.normalize(to);
    const parent = posix.dirname(dir);
    const line = `mkdir -p -- ${shellQuote(parent)} && rm -rf -- ${shellQuote(dir)} && mkdir -- ${shellQuote(dir)} && exec tar -C ${shellQuote(dir)} -xf -`;
    let tarErr = '';
    let remoteOut = '';
    const local = spawn('tar', ['-C', from, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Taken up at once: Node discards a child's unread output when it exits, and a small
    // bundle's tar can exit before the SSH channel is open.
    const archive = local.stdout.pipe(new PassThrough());
    local.stderr.on('data', (c: Buffer) => (tarErr += c.toString('utf8')));
    const localExit = new Promise<number>((resolve) => {
      local.once('error', () => resolve(127));
      local.once('close', (code) => resolve(code ?? 1));
    });
    let code: number;
    try {
      code = await this.exec(line, {
        what: `shipping the bundle to ${dir}`,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        onOutput: (c) => (remoteOut += c.toString('utf8')),
        feed: (ch) => archive.pipe(ch),
      });
    } finally {
      if (local.exitCode === null) local.kill('SIGKILL');
    }
    const lc = await localExit;
    if (lc !== 0) {
      throw new UserError('DEPLOY_SHIP_FAILED', `reading the bundle ${from} with tar failed (exit ${lc}): ${tarErr.trim().slice(0, 300)}`, { where: from, hint: 'check that GNU tar is installed and the bundle directory is readable' });
    }
    if (code !== 0) {
      throw new UserError('DEPLOY_SHIP_FAILED', `unpacking the bundle into ${dir} failed (exit ${code}): ${remoteOut.trim().slice(0, 300)}`, {
        where: this.where,
        hint: 'check that the user may write there, that the disk has room and that GNU tar is installed on the host',
      });
    }
  }

  runNode(run: AgentRun): Promise<number> {
    const line = `exec node ${run.args.map(shellQuote).join(' ')} </dev/null`;
    return this.exec(line, { what: `node ${run.args[1] ?? ''}`, timeoutMs: run.timeoutMs, signal: run.signal, onOutput: run.onOutput });
  }

  async remove(dir: string, opts: { timeoutMs: number }): Promise<void> {
    const r = await this.host.run(['rm', '-rf', '--', posix.normalize(dir)], { timeoutMs: opts.timeoutMs });
    if (r.exitCode !== 0) {
      throw new UserError('DEPLOY_REMOVE_FAILED', `removing ${dir} failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 300)}`, { where: this.where });
    }
  }

  close(): Promise<void> {
    return this.host.close();
  }
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
      // Instances run in parallel on one host: leave room for their channels (sshd MaxSessions is 10 by default).
      maxChannels: 8,
    });
    return new SshConnection(spec, host);
  }
}

/** Contributes the `ssh://` target. */
export const sshTargetModule = new ContainerModule(({ bind }) => {
  bind<DeploymentTarget>(DeploymentTarget).to(SshDeploymentTarget).inSingletonScope();
});

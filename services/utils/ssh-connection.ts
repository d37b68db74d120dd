/**
 * `utils.ssh()`: a connection to another machine through the project's SSH host layer (SshHost:
 * host key checked against known_hosts, keys, agent or a password that never reaches a command
 * line), with the few operations a plugin needs. Writes go through the command's stdin into a
 * temporary file beside the target, then a rename, so a reader never sees half a file.
 */
import { parseSshTarget } from '../host/ssh-target.js';
import type { SshHost, SshHostOptions } from '../host/ssh-host.js';
import { UserError } from '../../core/errors.js';
import type { SshConnection, SshExecOptions, SshExecResult, SshOptions } from '../../core/util-contract.js';

/** Reading a file has no time limit of its own in SshHost; this one keeps a hung SFTP from stalling a hook. */
const DEFAULT_FILE_TIMEOUT_MS = 60_000;

function passwordOptions(options: SshOptions): Partial<SshHostOptions> {
  const from = options.passwordFrom;
  if (from === undefined) return {};
  if ('file' in from) return { passwordFile: from.file };
  if ('env' in from) return { passwordEnv: from.env };
  return { password: from.value };
}

async function within<T>(what: string, where: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UserError('UTIL_SSH_TIMEOUT', `${what} on ${where} did not finish within ${ms} ms`, { where, hint: 'check the connection, or pass a larger timeoutMs' })),
      ms,
    );
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

class HostConnection implements SshConnection {
  readonly target: string;

  constructor(
    private readonly host: SshHost,
    private readonly onClose: () => void,
  ) {
    this.target = host.describe();
  }

  exec(argv: readonly string[], options: SshExecOptions = {}): Promise<SshExecResult> {
    return this.host.run(argv, {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
  }

  async readFile(path: string, options: { readonly timeoutMs?: number } = {}): Promise<Uint8Array> {
    return new Uint8Array(await within(`reading ${path}`, this.target, options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS, this.host.readFile(path)));
  }

  async writeFile(path: string, data: string | Uint8Array, options: { readonly mode?: number; readonly timeoutMs?: number } = {}): Promise<void> {
    const mode = (options.mode ?? 0o644).toString(8);
    // The paths are arguments of a fixed script (never spliced into it); the bytes come on stdin.
    const script = 'umask 077; t="$1.abctl-tmp.$$"; if cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1"; then exit 0; fi; rm -f "$t"; exit 1';
    const r = await this.host.run(['sh', '-c', script, 'sh', path, mode], { input: data, timeoutMs: options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS });
    if (r.exitCode !== 0) {
      throw new UserError('HOST_IO_FAILED', `writing ${path} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
        where: `${this.target}:${path}`,
        hint: 'check that the directory exists and the connecting user may write there',
      });
    }
  }

  async close(): Promise<void> {
    this.onClose();
    await this.host.close();
  }
}

/** Opens a connection; `onClose` tells the operation it need not close it at the end. */
export async function openSshConnection(target: string, options: SshOptions, onClose: () => void = () => undefined): Promise<SshConnection & { close(): Promise<void> }> {
  const parsed = parseSshTarget(target);
  const spec = { user: options.user ?? parsed.user, host: parsed.host, port: options.port ?? parsed.port };
  // ssh2 is loaded only when a plugin really connects somewhere.
  const { SshHost } = await import('../host/ssh-host.js');
  const host = await SshHost.connect(spec, {
    ...(options.identity !== undefined ? { identityFile: options.identity } : {}),
    ...(options.knownHosts !== undefined ? { knownHostsFile: options.knownHosts } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...passwordOptions(options),
  });
  return new HostConnection(host, onClose);
}

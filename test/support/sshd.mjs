/**
 * A real OpenSSH sshd on a free loopback port, for tests of remote reference hosts.
 * Everything (host key, client key, authorized_keys, known_hosts, pid file) lives in a temp
 * dir; the only shared path is /run/sshd, which sshd insists on for privilege separation.
 * If sshd is missing or will not start, startSshd throws with what to do: tests must fail
 * loudly rather than skip (CI installs openssh-server from .ci/apt-packages).
 * Plain JavaScript (types in sshd.d.mts) so that bench/capture.mjs starts the same sshd.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** A TCP port nobody listens on right now (loopback). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function keygen(file, comment) {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/**
 * An sshd_config for a test server whose keys and files live in `dir`: key login only, no PAM,
 * no strict modes (temp dirs), SFTP unless `sftp` is false.
 * @param {{ address: string, port: number, dir: string, hostKey: string, sftp?: boolean, logLevel?: string, extra?: string[] }} o
 */
export function sshdConfig({ address, port, dir, hostKey, sftp = true, logLevel = 'VERBOSE', extra = [] }) {
  return [
    `ListenAddress ${address}`,
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    `LogLevel ${logLevel}`,
    ...extra,
    ...(sftp ? [`Subsystem sftp ${SFTP_SERVER}`] : []),
    '',
  ].join('\n');
}

/**
 * @param {{ sftp?: boolean, extra?: string[] }} [options] `sftp: false` leaves out `Subsystem sftp`, as hardened servers do;
 * `extra`: more sshd_config lines.
 * @returns {Promise<import('./sshd.d.mts').SshdHandle>}
 */
export async function startSshd(options = {}) {
  const sftp = options.sftp ?? true;
  for (const [path, pkg] of [
    [SSHD, 'openssh-server'],
    [SFTP_SERVER, 'openssh-sftp-server'],
  ]) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing, so the SSH tests cannot run a real sshd. Install it: apt-get install -y ${pkg} (CI installs it from .ci/apt-packages)`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'abctl-sshd-'));
  const user = userInfo().username;
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(dir, 'client_ed25519');
  await keygen(hostKey, 'abctl-test-host');
  await keygen(identityFile, 'abctl-test-client');
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${identityFile}.pub`));

  // Privilege separation directory; sshd refuses to start without it.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(config, sshdConfig({ address: '127.0.0.1', port, dir, hostKey, sftp, extra: options.extra ?? [] }));

  let stderr = '';
  /** @type {string | undefined} */
  let exited;
  // sshd re-executes itself, so it must be started by absolute path.
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => {
    stderr += d.toString('utf8');
  });
  // If the test process dies without stop(), do not leave sshd behind.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve(undefined);
    });
    child.once('error', (err) => {
      exited = `could not be started: ${err.message}`;
      resolve(undefined);
    });
  });

  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGTERM');
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
      throw new Error(`sshd on 127.0.0.1:${port} ${exited ?? 'did not accept connections in time'}; its output:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);

  return {
    port,
    user,
    identityFile,
    knownHostsFile,
    hostPublicKey,
    dir,
    target: `${user}@127.0.0.1:${port}`,
    log: () => stderr,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (exited === undefined) {
        child.kill('SIGTERM');
        await exitedPromise;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

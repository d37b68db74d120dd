// A real OpenSSH sshd on a free loopback port, for benchmarks of remote capture (the same
// setup as test/support/sshd.ts, in plain JavaScript so the bench needs no TypeScript).
// Keys, config, known_hosts and pid file live in a temp dir removed by stop().
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
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

/** Starts sshd; resolves to { port, user, identityFile, knownHostsFile, target, stop() }. */
export async function startSshd() {
  for (const [path, pkg] of [[SSHD, 'openssh-server'], [SFTP_SERVER, 'openssh-sftp-server']]) {
    if (!existsSync(path)) throw new Error(`${path} is missing; install it: apt-get install -y ${pkg}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'abctl-bench-sshd-'));
  const user = userInfo().username;
  const hostKey = join(dir, 'host_ed25519');
  const identityFile = join(dir, 'client_ed25519');
  for (const [f, c] of [[hostKey, 'bench-host'], [identityFile, 'bench-client']]) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', c, '-f', f]);
  }
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${identityFile}.pub`));
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(config, [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no', `Subsystem sftp ${SFTP_SERVER}`, '',
  ].join('\n'));
  let stderr = '';
  let exited;
  // sshd re-executes itself, so it must be started by absolute path.
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => (stderr += d));
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const done = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = `exited with ${code ?? signal}`))));
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`sshd on 127.0.0.1:${port} ${exited ?? 'did not start in time'}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPub}\n`);
  return {
    port,
    user,
    identityFile,
    knownHostsFile,
    target: `${user}@127.0.0.1:${port}`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (exited === undefined) {
        child.kill('SIGTERM');
        await done;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

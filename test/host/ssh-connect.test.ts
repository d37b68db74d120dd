/**
 * Connecting to a remote reference host: host key checking against known_hosts (plain,
 * hashed, revoked, wrong port, changed key), the explicit opt-out, authentication by key
 * file, default key and ssh-agent, and the errors a user gets when something is wrong.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { isLocalSpec, openReferenceHost } from '../../services/host/connect.js';
import { fingerprint } from '../../services/host/known-hosts.js';
import { hostModule, ReferenceHostFactory } from '../../services/host/module.js';
import { SshHost, type SshHostOptions } from '../../services/host/ssh-host.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

const exec = promisify(execFile);

let sshd: SshdHandle;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'abctl-sshconnect-'));
});

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function file(content: string): Promise<string> {
  const path = join(dir, `f${n++}`);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

async function keygen(extra: string[] = []): Promise<string> {
  const path = join(dir, `key${n++}`);
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path, ...extra]);
  return path;
}

async function connectError(options: SshHostOptions, target = sshd.target): Promise<AbError> {
  const err = await SshHost.connect(target, { agentSocket: false, ...options }).then(
    async (h) => {
      await h.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err, 'connect should have been refused').toBeInstanceOf(AbError);
  return err as AbError;
}

async function connectsAndReads(options: SshHostOptions): Promise<void> {
  const host = await SshHost.connect(sshd.target, { agentSocket: false, ...options });
  try {
    expect((await host.run(['echo', 'ok'])).stdout).toBe('ok\n');
  } finally {
    await host.close();
  }
}

function hostKeyBlob(): Buffer {
  return Buffer.from(sshd.hostPublicKey.split(' ')[1] ?? '', 'base64');
}

describe('host key checking', () => {
  it('accepts the key recorded for [127.0.0.1]:port', async () => {
    await connectsAndReads({ identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile });
  });

  it('accepts hashed known_hosts entries (ssh-keygen -H)', async () => {
    const hashed = join(dir, 'known_hosts_hashed');
    await copyFile(sshd.knownHostsFile, hashed);
    await exec('ssh-keygen', ['-H', '-f', hashed]);
    const text = await readFile(hashed, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(text).not.toContain('127.0.0.1');
    await connectsAndReads({ identityFile: sshd.identityFile, knownHostsFile: hashed });
  });

  it('accepts wildcard patterns and skips comments, markers and other hosts', async () => {
    const other = await keygen();
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const knownHosts = await file(
      [
        '# comment',
        `example.org ${otherPub}`,
        `@cert-authority * ${otherPub}`,
        'garbage line',
        `[127.0.0.?]:${sshd.port},!10.0.0.1 ${sshd.hostPublicKey}`,
        '',
      ].join('\n'),
    );
    await connectsAndReads({ identityFile: sshd.identityFile, knownHostsFile: knownHosts });
  });

  it('rejects an unknown host, telling how to add its key', async () => {
    const knownHosts = await file('');
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: knownHosts });
    expect(err.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(err.message).toContain(fingerprint(hostKeyBlob()));
    expect(err.hint).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${knownHosts}`);
    expect(err.where).toBe(`${sshd.user}@127.0.0.1:${sshd.port}`);
  });

  it('treats a missing known_hosts file as "unknown host", and says the file is missing', async () => {
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: join(dir, 'no-such-known-hosts') });
    expect(err.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(err.message).toContain('does not exist');
  });

  it('does not take a key recorded for port 22 (or another port) for this port', async () => {
    const knownHosts = await file(`127.0.0.1 ${sshd.hostPublicKey}\n[127.0.0.1]:${sshd.port + 1} ${sshd.hostPublicKey}\n`);
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: knownHosts });
    expect(err.code).toBe('SSH_HOST_KEY_UNKNOWN');
  });

  it('rejects loudly a host whose key changed', async () => {
    const other = await keygen();
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const knownHosts = await file(`[127.0.0.1]:${sshd.port} ${otherPub}\n`);
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: knownHosts });
    expect(err.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(err.message).toContain('HAS CHANGED');
    expect(err.message).toContain('man in the middle');
    expect(err.message).toContain(fingerprint(hostKeyBlob()));
    expect(err.hint).toContain('ssh-keygen -R');
  });

  it('rejects a key marked @revoked even when it is also listed as valid', async () => {
    const knownHosts = await file(`@revoked * ${sshd.hostPublicKey}\n[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: knownHosts });
    expect(err.code).toBe('SSH_HOST_KEY_REVOKED');
  });

  it('skips the check only when asked to, and warns when it does', async () => {
    const warnings: string[] = [];
    await connectsAndReads({
      identityFile: sshd.identityFile,
      knownHostsFile: join(dir, 'no-such-known-hosts'),
      insecureSkipHostKeyCheck: true,
      log: { warn: (m) => warnings.push(m) },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('NOT checked');
    expect(warnings[0]).toContain(fingerprint(hostKeyBlob()));
  });
});

describe('authentication', () => {
  it('uses ~/.ssh/id_ed25519 and ~/.ssh/known_hosts by default', async () => {
    const home = join(dir, 'home-default');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await copyFile(sshd.identityFile, join(home, '.ssh', 'id_ed25519'));
    await copyFile(sshd.knownHostsFile, join(home, '.ssh', 'known_hosts'));
    await connectsAndReads({ homeDir: home });
  });

  it('uses ssh-agent from the socket it is given', async () => {
    const socket = join(dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100; i++) {
        const added = await exec('ssh-add', [sshd.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } }).then(
          () => true,
          () => false,
        );
        if (added) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const emptyHome = join(dir, 'home-empty');
      await mkdir(emptyHome, { recursive: true });
      await connectsAndReads({ homeDir: emptyHome, knownHostsFile: sshd.knownHostsFile, agentSocket: socket });
    } finally {
      agent.kill('SIGTERM');
    }
  });

  it('reports a key the host does not accept, naming what was tried', async () => {
    const stranger = await keygen();
    const err = await connectError({ identityFile: stranger, knownHostsFile: sshd.knownHostsFile });
    expect(err.code).toBe('SSH_AUTH_FAILED');
    expect(err.message).toContain(stranger);
    expect(err.hint).toContain('authorized_keys');
  });

  it('reports an identity file that is missing, public or encrypted', async () => {
    const missing = await connectError({ identityFile: join(dir, 'no-such-key'), knownHostsFile: sshd.knownHostsFile });
    expect(missing.code).toBe('SSH_IDENTITY_FILE_UNREADABLE');
    expect(missing.message).toContain('no-such-key');

    const pub = await connectError({ identityFile: `${sshd.identityFile}.pub`, knownHostsFile: sshd.knownHostsFile });
    expect(pub.code).toBe('SSH_IDENTITY_FILE_INVALID');

    const encrypted = join(dir, `enc${n++}`);
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', encrypted]);
    const enc = await connectError({ identityFile: encrypted, knownHostsFile: sshd.knownHostsFile });
    expect(enc.code).toBe('SSH_IDENTITY_FILE_INVALID');
    expect(enc.hint).toContain(`ssh-add ${encrypted}`);
  });

  it('says so when there is no way to log in at all', async () => {
    const emptyHome = join(dir, 'home-none');
    await mkdir(emptyHome, { recursive: true });
    const err = await connectError({ homeDir: emptyHome, knownHostsFile: sshd.knownHostsFile });
    expect(err.code).toBe('SSH_NO_CREDENTIALS');
  });

  it('takes a password only from a named environment variable or a file, and fails clearly when it is unset', async () => {
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, passwordEnv: 'ABCTL_TEST_UNSET_PASSWORD' });
    expect(err.code).toBe('SSH_PASSWORD_MISSING');
    expect(err.message).toContain('ABCTL_TEST_UNSET_PASSWORD');
  });
});

describe('connection errors', () => {
  it('explains a refused connection', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const err = await connectError({ identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile }, `${sshd.user}@127.0.0.1:${port}`);
    expect(err.code).toBe('SSH_CONNECT_FAILED');
    expect(err.message).toContain('connection refused');
    expect(err.hint).toContain(`port ${port}`);
  });

  it.each([
    ['', 'empty'],
    ['root@', 'host name is missing'],
    ['root@host:0', 'outside 1-65535'],
    ['root@host:70000', 'outside 1-65535'],
    ['root@host:ssh', 'not a number'],
    ['ro ot@host', 'user name'],
    ['root@ho st', 'not a host name'],
    ['root@::1', 'brackets'],
    ['root@[::1', "missing ']'"],
    ['root@[example.org]:22', 'not an IPv6 address'],
  ])('rejects the target %j (%s)', async (spec, why) => {
    const err = await openReferenceHost(spec, { agentSocket: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbError);
    expect((err as AbError).code).toBe('SSH_TARGET_INVALID');
    expect((err as AbError).message).toContain(why);
    expect((err as AbError).hint).toContain('user@host:port');
  });
});

describe('openReferenceHost and the DI module', () => {
  it('opens this machine only for no spec or "local"', async () => {
    expect(isLocalSpec(undefined)).toBe(true);
    expect(isLocalSpec('local')).toBe(true);
    expect(isLocalSpec('localhost')).toBe(false);
    expect(isLocalSpec('root@127.0.0.1')).toBe(false);
    const local = await openReferenceHost(undefined);
    expect(local.kind).toBe('local');
    await local.close();
  });

  it('opens an SSH host from user@host:port', async () => {
    const host = await openReferenceHost(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false });
    try {
      expect(host.kind).toBe('ssh');
      expect(host.describe()).toBe(`${sshd.user}@127.0.0.1:${sshd.port}`);
    } finally {
      await host.close();
    }
  });

  it('binds one ReferenceHostFactory', async () => {
    const container = new Container();
    container.load(hostModule);
    const factory = container.get<ReferenceHostFactory>(ReferenceHostFactory);
    expect(container.get<ReferenceHostFactory>(ReferenceHostFactory)).toBe(factory);
    const host = await factory.open('local');
    expect(host.describe()).toBe('local');
  });
});

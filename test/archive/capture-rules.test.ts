/**
 * What a capture keeps and skips, the same on this machine and over SSH (a real sshd on
 * loopback): private keys and credential stores anywhere (by name and by content, issue 9.6),
 * hard links, sparse files and names that are not UTF-8 (issue 9.9), each checked through
 * the real GNU tar.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSetDefinition } from '../../core/metadata/index.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { captureDefinition } from '../../services/jobs/definition-capture.js';
import { isSecretContent, isSecretName } from '../../services/archive/secrets.js';
import { LocalHost } from '../../services/host/local-host.js';
import { SshHost } from '../../services/host/ssh-host.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';
import { extract, tarList, tempDir } from './helpers.js';

let sshd: SshdHandle;
let tmp: { dir: string; cleanup: () => Promise<void> };
const hosts: Record<'local' | 'ssh', ReferenceHost | undefined> = { local: undefined, ssh: undefined };

beforeAll(async () => {
  tmp = await tempDir('abctl-rules-');
  hosts.local = new LocalHost();
  sshd = await startSshd();
  hosts.ssh = await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false });
});
afterAll(async () => {
  await hosts.ssh?.close();
  await sshd?.stop();
  await tmp?.cleanup();
});

function put(root: string, rel: string, content: string | Buffer): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content);
}

function keygen(file: string, type = 'ed25519', format?: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test', ...(format ? ['-m', format] : []), '-f', file]);
}

async function capture(kind: 'local' | 'ssh', root: string, name: string, init: { includeSecrets?: string[] } = {}) {
  const def = new FileSetDefinition({ name: 'home', root, ...init });
  const out = join(tmp.dir, `${name}-${kind}.tar`);
  const result = await captureDefinition(hosts[kind]!, def, { out, codec: 'none' });
  return { result, out };
}

describe('the secret rule as documented', () => {
  it('matches the listed names anywhere and leaves public keys, certificates and look-alikes', () => {
    for (const p of ['shadow', 'x/gshadow-', 'a/ssh_host_rsa_key', 'id_ed25519_sk', 'h/.pgpass', '.netrc', 'g/.git-credentials', 'secring.gpg',
      'tls/a.key', 'a.p12', 'b.pfx', 'krb5.keytab', 'u/.aws/credentials', '.docker/config.json', 'x/.kube/config', 'g/private-keys-v1.d/AB12.key', 'g/private-keys-v1.d/x']) {
      expect(isSecretName(p), p).toBe(true);
    }
    for (const p of ['a/ssh_host_rsa_key.pub', 'id_ed25519.pub', 'tls/server.crt', 'cacert.pem', '.key', 'keys', 'credentials', 'config.json', 'shadow.txt', 'a/constructor']) {
      expect(isSecretName(p), p).toBe(false);
    }
  });

  it('finds a private-key header at a line start only', () => {
    expect(isSecretContent(Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n'))).toBe(true);
    expect(isSecretContent(Buffer.from('cert\n-----BEGIN EC PRIVATE KEY-----\n'))).toBe(true);
    expect(isSecretContent(Buffer.from('PuTTY-User-Key-File-3: ssh-ed25519\n'))).toBe(true);
    expect(isSecretContent(Buffer.from('say "-----BEGIN RSA PRIVATE KEY-----"\n'))).toBe(false);
    expect(isSecretContent(Buffer.from('-----BEGIN PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\n'))).toBe(false);
  });
});

describe('secrets outside /etc (issue 9.6)', () => {
  let root: string;
  beforeAll(() => {
    root = join(tmp.dir, 'secrets');
    keygen(join(root, 'etc/ssh/ssh_host_ed25519_key'));
    keygen(join(root, 'home/app/.ssh/id_ed25519'));
    keygen(join(root, 'data/innocent.txt'), 'rsa', 'PEM');
    put(root, 'data/bundle.crt', `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${readFileSync(join(root, 'data/innocent.txt'), 'utf8')}`);
    put(root, 'backup/shadow', 'root:$6$hash:19000:0:99999:7:::\n');
    put(root, 'tls/server.key', 'any content: the name says it');
    put(root, 'conf/.pgpass', 'db:5432:*:app:pw\n');
    put(root, 'conf/.aws/credentials', '[default]\naws_secret_access_key=x\n');
    put(root, 'conf/app.conf', 'port=8080\n');
    put(root, 'docs/howto.md', 'Keys look like\n    -----BEGIN RSA PRIVATE KEY-----\nwhen indented they are prose.\n');
    put(root, 'big/large.log', Buffer.alloc(200 * 1024, 'a'));
  });

  it.each(['local', 'ssh'] as const)('%s: skips and reports private keys by name and by content, keeps the rest', async (kind) => {
    const { result, out } = await capture(kind, root, 'secrets');
    expect(result.skipped).toEqual(
      [
        'backup/shadow',
        'conf/.aws/credentials',
        'conf/.pgpass',
        'data/bundle.crt',
        'data/innocent.txt',
        'etc/ssh/ssh_host_ed25519_key',
        'home/app/.ssh/id_ed25519',
        'tls/server.key',
      ].map((path) => ({ path, reason: 'secret' })),
    );
    const names = tarList(out, 'none');
    for (const kept of ['./conf/app.conf', './docs/howto.md', './big/large.log', './etc/ssh/ssh_host_ed25519_key.pub', './home/app/.ssh/id_ed25519.pub']) {
      expect(names).toContain(kept);
    }
    expect(names.filter((n) => /innocent\.txt$|shadow|server\.key|pgpass|credentials|_key$|id_ed25519$|bundle/.test(n))).toEqual([]);
  });

  it.each(['local', 'ssh'] as const)('%s: captures a secret the definition names explicitly', async (kind) => {
    const { result, out } = await capture(kind, root, 'secrets-named', { includeSecrets: ['data/innocent.txt', 'tls/server.key'] });
    const skipped = result.skipped.map((s) => s.path);
    expect(skipped).not.toContain('data/innocent.txt');
    expect(skipped).not.toContain('tls/server.key');
    expect(skipped).toContain('home/app/.ssh/id_ed25519');
    const dest = join(tmp.dir, `named-${kind}`);
    mkdirSync(dest);
    extract(out, 'none', dest);
    expect(readFileSync(join(dest, 'data/innocent.txt'), 'utf8')).toBe(readFileSync(join(root, 'data/innocent.txt'), 'utf8'));
    expect(readFileSync(join(dest, 'tls/server.key'), 'utf8')).toBe('any content: the name says it');
  });

  it('a definition keeps includeSecrets through its plain form', () => {
    const def = new FileSetDefinition({ name: 'home', root: '/opt/p', includeSecrets: ['tls/server.key'] });
    expect(FileSetDefinition.fromPlain(JSON.parse(JSON.stringify(def.toPlain()))).includeSecrets).toEqual(['tls/server.key']);
    expect(new FileSetDefinition({ name: 'home', root: '/opt/p' }).toPlain()).not.toHaveProperty('includeSecrets');
    expect(() => new FileSetDefinition({ name: 'home', root: '/opt/p', includeSecrets: ['../x'] })).toThrow();
  });
});

describe('what tar keeps (issue 9.9)', () => {
  let root: string;
  beforeAll(() => {
    root = join(tmp.dir, 'keeps');
    put(root, 'a/one', 'same inode\n');
    linkSync(join(root, 'a/one'), join(root, 'b-two'));
    linkSync(join(root, 'a/one'), join(root, 'a/three'));
    put(root, 'ok.txt', 'fine\n');
    // Not UTF-8: a file and a directory (whose contents go with it).
    writeFileSync(Buffer.from(join(root, 'bad-\xff.txt'), 'latin1'), 'odd');
    mkdirSync(Buffer.from(join(root, 'dir-\xfe'), 'latin1'));
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'dir-\xfe'), 'latin1'), Buffer.from('/inside')]), 'below');
  });

  it.each(['local', 'ssh'] as const)('%s: hard links stay links; GNU tar restores one inode', async (kind) => {
    const { result, out } = await capture(kind, root, 'links');
    const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listing.split('\n').filter((l) => l.startsWith('h'))).toHaveLength(2);
    expect(result.files).toBe(4);
    const dest = join(tmp.dir, `links-${kind}`);
    mkdirSync(dest);
    extract(out, 'none', dest);
    expect(statSync(join(dest, 'b-two')).ino).toBe(statSync(join(dest, 'a/one')).ino);
    expect(statSync(join(dest, 'a/three')).nlink).toBe(3);
    expect(readFileSync(join(dest, 'b-two'), 'utf8')).toBe('same inode\n');
  });

  it.each(['local', 'ssh'] as const)('%s: names that are not UTF-8 are skipped and reported alike', async (kind) => {
    const { result, out } = await capture(kind, root, 'odd');
    expect(result.skipped).toEqual([
      { path: 'bad-\uFFFD.txt', reason: 'name-not-utf8' },
      { path: 'dir-\uFFFD', reason: 'name-not-utf8' },
    ]);
    expect(tarList(out, 'none').filter((n) => n.includes('bad') || n.includes('dir-') || n.includes('inside'))).toEqual([]);
  });

  it.each(['local', 'ssh'] as const)('%s: a 4 GiB sparse file stays sparse in the archive and after GNU tar extraction', async (kind) => {
    const sroot = join(tmp.dir, `sparse-src-${kind}`);
    mkdirSync(sroot);
    const file = join(sroot, 'disk.img');
    execFileSync('truncate', ['-s', '4G', file]);
    // Some data in the middle and at the very end.
    execFileSync('sh', ['-c', 'printf middle | dd of="$1" bs=1 seek=1073741824 conv=notrunc status=none; printf end | dd of="$1" bs=1 seek=4294967293 conv=notrunc status=none', 'sh', file]);
    const { out } = await capture(kind, sroot, 'sparse');
    expect(statSync(out).size).toBeLessThan(1024 * 1024);
    const dest = join(tmp.dir, `sparse-dest-${kind}`);
    mkdirSync(dest);
    extract(out, 'none', dest);
    const st = statSync(join(dest, 'disk.img'));
    expect(st.size).toBe(4 * 1024 ** 3);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024);
    const at = (offset: number, n: number): string => execFileSync('dd', [`if=${join(dest, 'disk.img')}`, 'bs=1', `skip=${offset}`, `count=${n}`, 'status=none'], { encoding: 'latin1' });
    expect(at(1073741824, 6)).toBe('middle');
    expect(at(4294967293, 3)).toBe('end');
  }, 120_000);
});

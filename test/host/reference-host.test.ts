/**
 * The same assertions against LocalHost and SshHost (a real sshd on loopback, reading the
 * same fixture tree, since both run on this machine): plugins must not be able to tell
 * which one they were given.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { LocalHost } from '../../services/host/local-host.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { SshHost } from '../../services/host/ssh-host.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

const exec = promisify(execFile);

let sshd: SshdHandle;
let sshdNoSftp: SshdHandle;
let root: string;
// `ssh-exec`: a server without the SFTP subsystem; reads fall back to exec (issue 9.10).
const hosts: Record<'local' | 'ssh' | 'ssh-exec', ReferenceHost | undefined> = { local: undefined, ssh: undefined, 'ssh-exec': undefined };
const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'abctl-refhost-'));
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, 'conf/sub/deep'), { recursive: true });
  await mkdir(join(root, 'logs'));
  await mkdir(join(root, 'empty'));
  await mkdir(join(root, 'data'));
  await writeFile(join(root, 'bin/run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(root, 'bin/run.sh'), 0o750);
  await writeFile(join(root, 'conf/server.xml'), '<Server port="8005"/>\n');
  await chmod(join(root, 'conf/server.xml'), 0o640);
  await writeFile(join(root, 'conf/app.properties'), 'a=1\nb=ü\n');
  await writeFile(join(root, 'conf/.hidden'), 'secret-ish\n');
  await writeFile(join(root, 'conf/sub/deep/x.conf'), 'x\n');
  await writeFile(join(root, 'logs/a.log'), 'a\n');
  await writeFile(join(root, 'logs/b.log'), 'b\n');
  await writeFile(join(root, 'data/bin.dat'), binary);
  await writeFile(join(root, 'name with spaces.txt'), 'spaces\n');
  await symlink('conf', join(root, 'link-to-conf'));
  await symlink('conf/server.xml', join(root, 'server.xml'));
  await symlink('missing-target', join(root, 'dangling'));
  await exec('mkfifo', [join(root, 'fifo')]);

  hosts.local = new LocalHost();
  // No skip: if sshd cannot start, every SSH test fails with startSshd's explanation.
  sshd = await startSshd();
  hosts.ssh = await SshHost.connect(sshd.target, {
    identityFile: sshd.identityFile,
    knownHostsFile: sshd.knownHostsFile,
    agentSocket: false,
  });
  sshdNoSftp = await startSshd({ sftp: false });
  hosts['ssh-exec'] = await SshHost.connect(sshdNoSftp.target, {
    identityFile: sshdNoSftp.identityFile,
    knownHostsFile: sshdNoSftp.knownHostsFile,
    agentSocket: false,
  });
});

afterAll(async () => {
  await hosts.ssh?.close();
  await hosts['ssh-exec']?.close();
  await sshd?.stop();
  await sshdNoSftp?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AbError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected an error with code ${code}`).toBeInstanceOf(AbError);
  expect((err as AbError).code).toBe(code);
  return err as AbError;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const nameOf = (line: string): string => line.split(' ').slice(2).join(' ');
const byName = (a: string, b: string): number => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0);

async function tarListing(archive: Buffer): Promise<string[]> {
  const file = join(tmpdir(), `abctl-tar-${process.pid}-${Math.random().toString(36).slice(2)}.tar`);
  await writeFile(file, archive);
  try {
    const { stdout } = await exec('tar', ['-tvf', file]);
    // Name, type+mode and size: enough to see members, links and permissions survived.
    return stdout
      .trim()
      .split('\n')
      .map((l) => {
        const f = l.split(/\s+/);
        return `${f[0]} ${f[2]} ${f.slice(5).join(' ')}`;
      })
      .sort(byName);
  } finally {
    await rm(file, { force: true });
  }
}

describe.each(['local', 'ssh', 'ssh-exec'] as const)('%s reference host', (kind) => {
  const host = (): ReferenceHost => {
    const h = hosts[kind];
    if (!h) throw new Error(`${kind} host was not opened (see beforeAll)`);
    return h;
  };

  it('describes itself', () => {
    expect(host().kind).toBe(kind === 'local' ? 'local' : 'ssh');
    const server = kind === 'ssh' ? sshd : sshdNoSftp;
    expect(host().describe()).toBe(kind === 'local' ? 'local' : `${server.user}@127.0.0.1:${server.port}`);
  });

  it('offers reads only', () => {
    const proto = Object.getPrototypeOf(host()) as object;
    const names = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && !n.startsWith('_'));
    const publicApi = ['readFile', 'readText', 'readTextIfExists', 'readdir', 'stat', 'lstat', 'exists', 'glob', 'run', 'hasCommand', 'tarStream', 'close', 'describe'];
    for (const n of publicApi) expect(names).toContain(n);
    expect(names.filter((n) => /write|mkdir|chmod|chown|unlink|rm|rename|put|upload|copy/i.test(n))).toEqual([]);
  });

  describe('files', () => {
    it('reads bytes and text', async () => {
      expect((await host().readFile(join(root, 'data/bin.dat'))).equals(binary)).toBe(true);
      expect(await host().readText(join(root, 'conf/app.properties'))).toBe('a=1\nb=ü\n');
      expect(await host().readText(join(root, 'name with spaces.txt'))).toBe('spaces\n');
      expect(await host().readText(join(root, 'server.xml'))).toBe('<Server port="8005"/>\n');
      expect(await host().readText(join(root, 'conf/../conf/./server.xml'))).toBe('<Server port="8005"/>\n');
    });

    it('fails clearly on missing paths, directories, FIFOs and relative paths', async () => {
      const missing = await rejectsWith(host().readFile(join(root, 'nope.txt')), 'HOST_PATH_NOT_FOUND');
      expect(missing.where).toBe(`${host().describe()}:${join(root, 'nope.txt')}`);
      await rejectsWith(host().readFile(join(root, 'conf/server.xml/below')), 'HOST_PATH_NOT_FOUND');
      await rejectsWith(host().readFile(join(root, 'dangling')), 'HOST_PATH_NOT_FOUND');
      await rejectsWith(host().readFile(join(root, 'conf')), 'HOST_NOT_A_FILE');
      // Reading a FIFO would block forever; it is refused instead.
      await rejectsWith(host().readFile(join(root, 'fifo')), 'HOST_NOT_A_FILE');
      await rejectsWith(host().readFile('conf/server.xml'), 'HOST_PATH_NOT_ABSOLUTE');
    });

    it('reads a file that may be missing in one call: undefined for nothing there, errors otherwise', async () => {
      expect(await host().readTextIfExists(join(root, 'conf/app.properties'))).toBe('a=1\nb=ü\n');
      expect(await host().readTextIfExists(join(root, 'nope.txt'))).toBeUndefined();
      expect(await host().readTextIfExists(join(root, 'dangling'))).toBeUndefined();
      expect(await host().readTextIfExists(join(root, 'conf/server.xml/below'))).toBeUndefined();
      // Present but not readable as a file is not "missing": the caller hears about it.
      await rejectsWith(host().readTextIfExists(join(root, 'conf')), 'HOST_NOT_A_FILE');
      await rejectsWith(host().readTextIfExists('conf/server.xml'), 'HOST_PATH_NOT_ABSOLUTE');
      if (host() instanceof SshHost && kind === 'ssh') {
        // exists + readText took three SFTP calls (stat, stat, readFile); this takes two, one when absent.
        const sftp = () => (host() as SshHost).stats.sftpCalls;
        const before = sftp();
        await host().readTextIfExists(join(root, 'conf/app.properties'));
        expect(sftp() - before).toBe(2);
        await host().readTextIfExists(join(root, 'nope.txt'));
        expect(sftp() - before).toBe(3);
      }
    });
  });

  describe('directories', () => {
    it('lists entries with their own types, sorted', async () => {
      expect(await host().readdir(root)).toEqual([
        { name: 'bin', type: 'directory' },
        { name: 'conf', type: 'directory' },
        { name: 'dangling', type: 'symlink' },
        { name: 'data', type: 'directory' },
        { name: 'empty', type: 'directory' },
        { name: 'fifo', type: 'other' },
        { name: 'link-to-conf', type: 'symlink' },
        { name: 'logs', type: 'directory' },
        { name: 'name with spaces.txt', type: 'file' },
        { name: 'server.xml', type: 'symlink' },
      ]);
      expect(await host().readdir(join(root, 'empty'))).toEqual([]);
      expect((await host().readdir(join(root, 'link-to-conf'))).map((e) => e.name)).toEqual(['.hidden', 'app.properties', 'server.xml', 'sub']);
    });

    it('fails clearly on missing paths and files', async () => {
      await rejectsWith(host().readdir(join(root, 'nope')), 'HOST_PATH_NOT_FOUND');
      await rejectsWith(host().readdir(join(root, 'conf/server.xml')), 'HOST_NOT_A_DIRECTORY');
    });
  });

  describe('stat and lstat', () => {
    it('reports type, size, permission bits, owner and mtime like the file system', async () => {
      for (const rel of ['conf/server.xml', 'bin/run.sh', 'empty', 'data/bin.dat']) {
        const expected = await stat(join(root, rel));
        const got = await host().stat(join(root, rel));
        expect(got).toEqual({
          type: expected.isDirectory() ? 'directory' : 'file',
          size: expected.size,
          mode: expected.mode & 0o7777,
          uid: expected.uid,
          gid: expected.gid,
          mtimeMs: Math.floor(expected.mtimeMs / 1000) * 1000,
        });
      }
      expect((await host().stat(join(root, 'conf/server.xml')))?.mode).toBe(0o640);
      expect((await host().stat(join(root, 'bin/run.sh')))?.mode).toBe(0o750);
      expect((await host().stat(join(root, 'fifo')))?.type).toBe('other');
    });

    it('follows symlinks in stat and shows them in lstat', async () => {
      const viaLink = await host().stat(join(root, 'server.xml'));
      expect(viaLink?.type).toBe('file');
      expect(viaLink?.linkTarget).toBeUndefined();
      const link = await host().lstat(join(root, 'server.xml'));
      const expected = await lstat(join(root, 'server.xml'));
      expect(link).toMatchObject({ type: 'symlink', linkTarget: 'conf/server.xml', size: expected.size });
      expect(await host().lstat(join(root, 'link-to-conf'))).toMatchObject({ type: 'symlink', linkTarget: 'conf' });
      expect(await host().lstat(join(root, 'dangling'))).toMatchObject({ type: 'symlink', linkTarget: 'missing-target' });
      expect((await host().lstat(join(root, 'conf/server.xml')))?.linkTarget).toBeUndefined();
    });

    it('returns undefined for absent paths, and exists() agrees', async () => {
      expect(await host().stat(join(root, 'nope'))).toBeUndefined();
      expect(await host().lstat(join(root, 'nope'))).toBeUndefined();
      expect(await host().stat(join(root, 'dangling'))).toBeUndefined();
      expect(await host().stat(join(root, 'conf/server.xml/below'))).toBeUndefined();
      expect(await host().exists(join(root, 'dangling'))).toBe(false);
      expect(await host().exists(join(root, 'link-to-conf'))).toBe(true);
      expect(await host().exists(join(root, 'nope'))).toBe(false);
      await rejectsWith(host().stat('relative'), 'HOST_PATH_NOT_ABSOLUTE');
    });
  });

  describe('glob', () => {
    const g = (patterns: string | string[], options: Record<string, unknown> = {}) => host().glob(patterns, { cwd: root, ...options });

    it('matches files, counting symlinks to files but not descending into linked directories', async () => {
      expect(await g('**/*.xml')).toEqual(['conf/server.xml', 'server.xml']);
      expect(await g('conf/*')).toEqual(['conf/app.properties', 'conf/server.xml']);
      expect(await g('conf/*', { dot: true })).toEqual(['conf/.hidden', 'conf/app.properties', 'conf/server.xml']);
      expect(await g('conf/**')).toEqual(['conf/app.properties', 'conf/server.xml', 'conf/sub/deep/x.conf']);
      expect(await g(['**/*.log', '!logs/b.log'])).toEqual(['logs/a.log']);
      expect(await g('**/*.log', { ignore: ['logs/a.log'] })).toEqual(['logs/b.log']);
      expect(await g('{bin,data}/*')).toEqual(['bin/run.sh', 'data/bin.dat']);
      expect(await g('*.txt')).toEqual(['name with spaces.txt']);
      expect(await g('conf/server.xml')).toEqual(['conf/server.xml']);
      expect(await g('conf/nothing.xml')).toEqual([]);
    });

    it('selects directories or any entry type', async () => {
      expect(await g('**', { type: 'directory' })).toEqual(['bin', 'conf', 'conf/sub', 'conf/sub/deep', 'data', 'empty', 'link-to-conf', 'logs']);
      expect(await g('*', { type: 'any' })).toEqual([
        'bin',
        'conf',
        'dangling',
        'data',
        'empty',
        'fifo',
        'link-to-conf',
        'logs',
        'name with spaces.txt',
        'server.xml',
      ]);
      expect(await g('*', { type: 'file' })).toEqual(['name with spaces.txt', 'server.xml']);
    });

    it('works below a symlinked cwd, gives [] for a missing cwd and refuses patterns leaving cwd', async () => {
      expect(await host().glob('*.xml', { cwd: join(root, 'link-to-conf') })).toEqual(['server.xml']);
      expect(await host().glob('**', { cwd: join(root, 'nope') })).toEqual([]);
      await rejectsWith(host().glob('*', { cwd: join(root, 'conf/server.xml') }), 'HOST_NOT_A_DIRECTORY');
      await rejectsWith(g('../*'), 'HOST_BAD_GLOB');
      await rejectsWith(g('/etc/*'), 'HOST_BAD_GLOB');
      await rejectsWith(host().glob('*', { cwd: 'relative' }), 'HOST_PATH_NOT_ABSOLUTE');
    });
  });

  describe('run', () => {
    it('passes every argv element through unchanged', async () => {
      const args = ['a b', "it's", '$HOME', '"q"', '`id`', '$(id)', '*', '', 'back\\slash', 'new\nline', ';', '|', '&&', '~', '-n'];
      const r = await host().run(['printf', '[%s]\\n', ...args]);
      expect(r).toEqual({ exitCode: 0, stdout: args.map((a) => `[${a}]\n`).join(''), stderr: '' });
    });

    it('returns exit codes and stderr instead of throwing', async () => {
      expect(await host().run(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      expect((await host().run(['false'])).exitCode).toBe(1);
      expect((await host().run(['sh', '-c', 'kill -TERM $$'])).exitCode).toBe(128 + 15);
      const missing = await host().run(['abctl-no-such-command-xyz']);
      expect(missing.exitCode).toBe(127);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toContain('abctl-no-such-command-xyz');
    });

    it('gives commands no stdin', async () => {
      expect(await host().run(['cat'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    });

    it('honours cwd and env', async () => {
      expect((await host().run(['pwd'], { cwd: join(root, 'conf') })).stdout).toBe(`${join(root, 'conf')}\n`);
      expect((await host().run(['ls'], { cwd: join(root, 'bin') })).stdout).toBe('run.sh\n');
      expect((await host().run(['sh', '-c', 'printf %s "$ABCTL_X"'], { env: { ABCTL_X: "v a'l $x" } })).stdout).toBe("v a'l $x");
      await rejectsWith(host().run(['pwd'], { cwd: join(root, 'nope') }), 'HOST_PATH_NOT_FOUND');
      await rejectsWith(host().run(['pwd'], { cwd: join(root, 'conf/server.xml') }), 'HOST_NOT_A_DIRECTORY');
      await rejectsWith(host().run(['pwd'], { env: { 'BAD NAME': 'x' } }), 'HOST_BAD_ARGUMENT');
      await rejectsWith(host().run([]), 'HOST_BAD_ARGUMENT');
    });

    it('passes env values to the program but never on a command line (issue 9.5)', async () => {
      const secret = `value-xyz-${Math.random().toString(36).slice(2)}`;
      // Newlines, backslashes, quotes and a trailing newline must arrive unchanged too.
      const odd = `a'b\\n"c\n\\\\d $(x)\n`;
      const seen: string[] = [];
      let running = true;
      const scan = (async () => {
        // The sshd is on this machine, so /proc shows the remote side's processes as well.
        while (running) {
          for (const pid of await readdir('/proc').catch(() => [] as string[])) {
            if (!/^\d+$/.test(pid)) continue;
            const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
            if (cmdline.includes(secret) || cmdline.includes('\\\\d')) seen.push(cmdline.toString('utf8'));
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const r = await host().run(['sh', '-c', 'sleep 1; printf "%s|%s" "$SECRET" "$ODD"'], { env: { SECRET: secret, ODD: odd } });
      running = false;
      await scan;
      expect(r).toEqual({ exitCode: 0, stdout: `${secret}|${odd}`, stderr: '' });
      expect(seen).toEqual([]);
    });

    it('kills a command (and what it started) when it exceeds its timeout', async () => {
      const token = `98${Math.floor(Math.random() * 1e6)}`;
      const err = await rejectsWith(host().run(['sh', '-c', `sleep ${token} & sleep ${token}`], { timeoutMs: 300 }), 'HOST_COMMAND_TIMEOUT');
      expect(err.hint).toContain('timeoutMs');
      // Both sleeps belonged to the command's process group: none may survive.
      const ps = await exec('ps', ['-eo', 'args']);
      expect(ps.stdout.split('\n').filter((l) => l.includes(`sleep ${token}`))).toEqual([]);
    });

    it('kills a command whose output exceeds the cap', async () => {
      await rejectsWith(host().run(['head', '-c', '100000', '/dev/zero'], { maxOutputBytes: 1000 }), 'HOST_COMMAND_OUTPUT_TOO_LARGE');
    });

    it('tells which commands exist', async () => {
      expect(await host().hasCommand('sh')).toBe(true);
      expect(await host().hasCommand('tar')).toBe(true);
      expect(await host().hasCommand('abctl-no-such-command-xyz')).toBe(false);
      expect(await host().hasCommand('sh; touch /tmp/abctl-should-not-exist')).toBe(false);
    });

    it('lists the processes once per host object, however many ask at once', async () => {
      const token = `97${Math.floor(Math.random() * 1e6)}`;
      const sleeper = spawn('sleep', [token], { stdio: 'ignore' });
      try {
        // One list, the same object for concurrent and later callers: ps ran once. (Counting runner
        // commands instead would depend on whether a runner was free or a channel of its own was taken.)
        const [first, second] = await Promise.all([host().processes(), host().processes()]);
        expect(second).toBe(first);
        expect(await host().processes()).toBe(first);
        expect(first.find((p) => p.args === `sleep ${token}`)?.pid).toBe(sleeper.pid);
        expect(first.every((p) => Number.isInteger(p.pid) && p.pid > 0)).toBe(true);
      } finally {
        sleeper.kill();
      }
    });

    it('lists a directory once per host object: later callers get that snapshot, a failed listing is tried again', async () => {
      // Outside root, whose listing other tests pin.
      const scratch = await mkdtemp(join(tmpdir(), 'abctl-listing-'));
      const dir = join(scratch, 'dir');
      await mkdir(dir);
      await writeFile(join(dir, 'a'), '');
      // Concurrent and later calls share one listing: a file made after it does not show. (Counting
      // SFTP calls or commands instead would depend on how the host got there.)
      const [first, second] = await Promise.all([host().readdir(dir), host().readdir(dir)]);
      await writeFile(join(dir, 'b'), '');
      expect(first.map((e) => e.name)).toEqual(['a']);
      expect(second).toEqual(first);
      expect((await host().readdir(join(dir, '.'))).map((e) => e.name)).toEqual(['a']);
      // Each caller gets its own array.
      first.push({ name: 'mine', type: 'file' });
      expect((await host().readdir(dir)).map((e) => e.name)).toEqual(['a']);
      const missing = join(scratch, 'later');
      await rejectsWith(host().readdir(missing), 'HOST_PATH_NOT_FOUND');
      await mkdir(missing);
      expect(await host().readdir(missing)).toEqual([]);
      await rm(scratch, { recursive: true, force: true });
    });

    it('runs several commands at once on one host', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => host().run(['echo', String(i)])));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    });
  });

  describe('tarStream', () => {
    it('streams the same members as a local tar, with excludes', async () => {
      const excludes = ['*.log', './empty', './fifo'];
      const reference = (await exec('sh', ['-c', `tar -C '${root}' -cf - --exclude='*.log' --exclude=./empty --exclude=./fifo . | tar -tvf -`])).stdout;
      const archive = await collect(host().tarStream(root, { excludes }));
      const listing = await tarListing(archive);
      const expected = reference
        .trim()
        .split('\n')
        .map((l) => {
          const f = l.split(/\s+/);
          return `${f[0]} ${f[2]} ${f.slice(5).join(' ')}`;
        })
        .sort(byName);
      expect(listing).toEqual(expected);
      const names = listing.map((l) => l.split(' ').slice(2).join(' '));
      expect(names).toContain('./conf/server.xml');
      expect(names).toContain('./server.xml -> conf/server.xml');
      expect(names.some((n) => n.endsWith('.log'))).toBe(false);
      expect(names).not.toContain('./empty/');
      expect(listing.find((l) => l.endsWith('./bin/run.sh'))?.startsWith('-rwxr-x---')).toBe(true);
    });

    it('archives selected members only', async () => {
      const listing = await tarListing(await collect(host().tarStream(root, { paths: ['conf/sub', 'bin'] })));
      expect(listing.map((l) => l.split(' ').slice(2).join(' '))).toEqual(['bin/', 'bin/run.sh', 'conf/sub/', 'conf/sub/deep/', 'conf/sub/deep/x.conf']);
    });

    it('fails the stream with tar\'s message when tar fails', async () => {
      const stream = host().tarStream(join(root, 'nope'));
      const err = await collect(stream).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AbError);
      expect((err as AbError).code).toBe('HOST_TAR_FAILED');
      expect((err as AbError).message).toContain('nope');
    });

    it('stops tar when the consumer destroys the stream', async () => {
      const stream = host().tarStream(root);
      const closed = new Promise((resolve) => stream.once('close', resolve));
      stream.destroy();
      await closed;
      // The host stays usable afterwards.
      expect((await host().run(['true'])).exitCode).toBe(0);
    });
  });
});

describe('ssh host without the SFTP subsystem', () => {
  it('was refused SFTP and read everything through exec', async () => {
    const h = hosts['ssh-exec']!;
    expect(await h.readText(join(root, 'conf/server.xml'))).toBe('<Server port="8005"/>\n');
    expect(sshdNoSftp.log()).toMatch(/subsystem request for sftp .*failed/i);
  });
});

describe('ssh host at the server\'s MaxSessions', () => {
  it('tries a refused channel again instead of failing the command', async () => {
    // More channels at once than sshd's MaxSessions (10, plus the SFTP session): sshd refuses some
    // opens until earlier sessions are cleaned up; each refused one is retried.
    const h = await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false, maxChannels: 16, commandRunners: 0 });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => h.run(['sh', '-c', `sleep 0.2; echo ${i}`])));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    } finally {
      await h.close();
    }
  });
});

describe('ssh host after close', () => {
  it('refuses further use with a clear error, and close() can be repeated', async () => {
    const h = await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false });
    expect((await h.readText(join(root, 'conf/server.xml'))).length).toBeGreaterThan(0);
    await h.close();
    await h.close();
    await rejectsWith(h.readFile(join(root, 'conf/server.xml')), 'SSH_CONNECTION_CLOSED');
    await rejectsWith(h.run(['true']), 'SSH_CONNECTION_CLOSED');
  });
});

describe('local and remote agree', () => {
  it('on a whole-tree glob and on a tar stream of the whole tree', async () => {
    const local = hosts.local as ReferenceHost;
    const remote = hosts.ssh as ReferenceHost;
    for (const type of ['file', 'directory', 'any'] as const) {
      expect(await remote.glob('**', { cwd: root, dot: true, type })).toEqual(await local.glob('**', { cwd: root, dot: true, type }));
    }
    const [a, b] = await Promise.all([collect(local.tarStream(root)), collect(remote.tarStream(root))]);
    expect(await tarListing(b)).toEqual(await tarListing(a));
  });
});

// Guard against the fixture itself going wrong (e.g. umask changing the modes we assert).
describe('fixture', () => {
  it('has the modes the tests rely on', async () => {
    expect((await stat(join(root, 'bin/run.sh'))).mode & 0o7777).toBe(0o750);
    expect((await readFile(join(root, 'data/bin.dat'))).length).toBe(256);
  });
});

/**
 * The test hosts' stop() (test/support/hosts.mjs) with an SSH login still under way. Root's
 * login shell here runs `pyenv init`, whose rehash takes a lock file in ~/.pyenv/shims on the
 * file system this machine shares with the hosts; a host killed while a login held it left it
 * behind and every later SSH login on the machine waited 60 s. These tests hold a real pyenv
 * rehash lock from a real login (a hook of pyenv's makes the rehash wait while it holds it), in
 * a PYENV_ROOT of their own so that no other login on the machine waits on them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type TestHost } from '../support/hosts.mjs';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';
import { tempDir } from '../helpers/plugins.js';

const PYENV = '/root/.pyenv/bin/pyenv';
let tmp: { path: string; cleanup: () => Promise<void> };
let elsewhere: SshdHandle;

beforeAll(async () => {
  tmp = await tempDir('abctl-test-hosts-');
  elsewhere = await startSshd();
}, 60_000);

afterAll(async () => {
  await elsewhere?.stop();
  await tmp?.cleanup();
});

/** Runs `command` through a real SSH login (the user's login shell and its rc files). */
function login(target: { address: string; port: number; user: string; identityFile: string; knownHostsFile: string }, command: string) {
  const child = spawn(
    'ssh',
    ['-i', target.identityFile, '-o', `UserKnownHostsFile=${target.knownHostsFile}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-p', String(target.port), `${target.user}@${target.address}`, command],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.once('close', (code) => resolve({ code, output })));
  return { child, done };
}

/** A PYENV_ROOT and a rehash hook that runs `hook` (bash) while the rehash holds the lock. */
async function pyenvRoot(name: string, hook: string) {
  const root = join(tmp.path, name);
  await mkdir(join(root, 'hooks', 'rehash'), { recursive: true });
  await writeFile(join(root, 'hooks', 'rehash', 'wait.bash'), `${hook}\n`);
  return { root, lock: join(root, 'shims', '.pyenv-shim'), env: `PYENV_ROOT=${root} PYENV_HOOK_PATH=${join(root, 'hooks')}` };
}

async function until(what: string, test: () => boolean | Promise<boolean>, limitMs = 15_000) {
  const deadline = Date.now() + limitMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A rehash on another server, as the next login on the machine would run it: not stalled by a lock. */
async function rehashElsewhere(env: string) {
  const t0 = Date.now();
  const r = await login({ address: '127.0.0.1', ...elsewhere }, `${env} PYENV_HOOK_PATH= PYENV_REHASH_TIMEOUT=20 ${PYENV} rehash && echo rehashed`).done;
  return { ...r, ms: Date.now() - t0 };
}

const hostLogin = (host: TestHost, command: string) => login({ ...host, port: host.port }, command);

describe.skipIf(!existsSync(PYENV))('stopping a test host while an SSH login holds a pyenv rehash lock', () => {
  it('ends the login with SIGTERM, so the rehash lets its lock go, and a later login is not stalled', async () => {
    const p = await pyenvRoot('term', 'sleep 60');
    const host = await startHost('stopterm', { sessionWaitMs: 300 });
    const session = hostLogin(host, `${p.env} ${PYENV} rehash`);
    await until('the rehash to take its lock', () => existsSync(p.lock));
    const t0 = Date.now();
    await host.stop();
    // The session wait (0.3 s), then SIGTERM: well under the rehash's own 60 s.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(existsSync(p.lock)).toBe(false);
    expect((await session.done).code).not.toBe(0);
    const next = await rehashElsewhere(`PYENV_ROOT=${p.root}`);
    expect(next.output).toContain('rehashed');
    expect(next.ms).toBeLessThan(10_000);
  });

  it('removes the lock a login of this host held when the rehash ignored SIGTERM and was killed', async () => {
    const p = await pyenvRoot('kill', "trap '' TERM; sleep 60");
    const host = await startHost('stopkill', { sessionWaitMs: 300 });
    const session = hostLogin(host, `${p.env} ${PYENV} rehash`);
    await until('the rehash to take its lock', () => existsSync(p.lock));
    await host.stop();
    expect(existsSync(p.lock)).toBe(false);
    await session.done;
    const next = await rehashElsewhere(`PYENV_ROOT=${p.root}`);
    expect(next.output).toContain('rehashed');
    expect(next.ms).toBeLessThan(10_000);
  });

  it('leaves alone a lock that a login of this host did not make', async () => {
    // A lock made on this machine first; the host's rehash only waits for it (and ignores SIGTERM, so it is killed).
    const p = await pyenvRoot('other', '');
    await mkdir(join(p.root, 'shims'), { recursive: true });
    await writeFile(p.lock, '');
    const made = await stat(p.lock);
    const host = await startHost('stopother', { sessionWaitMs: 300 });
    const session = hostLogin(host, `trap '' TERM; ${p.env} PYENV_REHASH_TIMEOUT=60 ${PYENV} rehash`);
    await until('the rehash to wait for the lock', async () => (await host.exec(['sh', '-c', 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "'])).includes('pyenv-rehash'));
    await host.stop();
    expect((await stat(p.lock)).ino).toBe(made.ino);
    await session.done;
  });

  it('sessionsEnded() waits for a login to end and says when one is still there', async () => {
    const host = await startHost('sessions');
    try {
      const short = hostLogin(host, 'sleep 0.5');
      await until('the session to start', async () => !(await host.sessionsEnded(0)));
      expect(await host.sessionsEnded(5_000)).toBe(true);
      expect((await short.done).code).toBe(0);
      const long = hostLogin(host, 'sleep 30');
      await until('the session to start', async () => !(await host.sessionsEnded(0)));
      expect(await host.sessionsEnded(200)).toBe(false);
      long.child.kill();
    } finally {
      await host.stop();
    }
  });
});

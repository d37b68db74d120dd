/**
 * The command runners of SshHost (services/host/command-runner.ts) against a real sshd on
 * loopback: commands run without a session each and keep exactly the semantics of a channel of
 * their own (exit status, stderr, no stdin, env kept off every command line, timeouts and aborts
 * that kill the process group, binary output, concurrency); a runner killed while a command runs
 * is reported clearly and replaced; a host that cannot start one gets a channel per command.
 * The sshd runs on this machine, so /proc and ps show the "remote" processes too.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { MarkerSplitter } from '../../services/host/command-runner.js';
import { SshHost, type SshHostOptions } from '../../services/host/ssh-host.js';
import { OperationUtils } from '../../services/utils/operation-utils.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

const run = promisify(execFile);

let sshd: SshdHandle;
let noSftp: SshdHandle;
let noSh: SshdHandle;
let tmp: string;
const opened: SshHost[] = [];

beforeAll(async () => {
  [sshd, noSftp, noSh] = await Promise.all([
    startSshd(),
    startSshd({ sftp: false }),
    // No `sh` (nor anything else) in the PATH of its sessions: no runner can start there.
    startSshd({ extra: ['SetEnv PATH=/nonexistent'] }),
  ]);
  tmp = await mkdtemp(join(tmpdir(), 'abctl-runner-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((h) => h.close()));
  await Promise.allSettled([sshd, noSftp, noSh].map((s) => s?.stop()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function connect(server: SshdHandle, extra: SshHostOptions = {}): Promise<SshHost> {
  const h = await SshHost.connect(server.target, { identityFile: server.identityFile, knownHostsFile: server.knownHostsFile, agentSocket: false, ...extra });
  opened.push(h);
  return h;
}

async function rejection(p: Promise<unknown>): Promise<AbError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AbError);
  return err as AbError;
}

/** Command lines of this machine's processes that contain `text`. */
async function processesWith(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
    if (cmdline.includes(text)) found.push(cmdline.toString('utf8').replace(/\0/g, ' '));
  }
  return found;
}

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('command runner', () => {
  it('runs many commands on one session, with their exit status, stdout, stderr and no stdin', async () => {
    const h = await connect(sshd);
    expect(await h.run(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await h.run(['cat'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect((await h.run(['sh', '-c', 'kill -TERM $$'])).exitCode).toBe(128 + 15);
    const missing = await h.run(['abctl-no-such-command-xyz']);
    expect([missing.exitCode, missing.stdout]).toEqual([127, '']);
    expect(missing.stderr).toContain('abctl-no-such-command-xyz');
    // Output without a final newline, and output that looks like the runner's own words.
    expect((await h.run(['printf', '%s', 'abctl-runner-1 no newline'])).stdout).toBe('abctl-runner-1 no newline');
    for (let i = 0; i < 10; i++) expect((await h.run(['echo', String(i)])).stdout).toBe(`${i}\n`);
    const s = h.stats;
    expect(s.runnerCommands).toBe(15);
    // The SFTP session and one runner: not a session per command.
    expect(s.sessions).toBeLessThanOrEqual(3);
  });

  it('keeps environment values off every command line, on the host too', async () => {
    const h = await connect(sshd);
    const secret = `runner-secret-${randomBytes(6).toString('hex')}`;
    const odd = `a'b\\n"c\n\\\\d $(x)\n`;
    const seen: string[] = [];
    let scanning = true;
    const scan = (async () => {
      while (scanning) {
        seen.push(...(await processesWith(secret)));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await h.run(['sh', '-c', 'sleep 0.5; printf "%s|%s|%s" "$SECRET" "$ODD" "$(ps -eo args)"'], { env: { SECRET: secret, ODD: odd } });
    scanning = false;
    await scan;
    const [value, oddValue, ps] = r.stdout.split('|');
    expect([r.exitCode, value, oddValue]).toEqual([0, secret, odd]);
    expect(ps).not.toContain(secret);
    expect(seen).toEqual([]);
    // Variables of one command do not leak into the next one on the same runner.
    expect((await h.run(['sh', '-c', 'printf %s "${SECRET-unset}"'])).stdout).toBe('unset');
    expect(h.stats.runnerCommands).toBe(2);
  });

  it('kills the process group of a command past its timeout, and the runner carries on', async () => {
    const h = await connect(sshd);
    await h.run(['true']);
    const sessions = h.stats.sessions;
    const token = `97${Math.floor(Math.random() * 1e6)}`;
    const err = await rejection(h.run(['sh', '-c', `sleep ${token} & sleep ${token}`], { timeoutMs: 300 }));
    expect(err.code).toBe('HOST_COMMAND_TIMEOUT');
    await until('the sleeps to be killed', async () => (await processesWith(`sleep ${token}`)).length === 0);
    expect(await h.run(['echo', 'after'])).toEqual({ exitCode: 0, stdout: 'after\n', stderr: '' });
    // One more session only: the kill's own channel.
    expect(h.stats.sessions).toBe(sessions + 1);
  });

  it('kills a command whose output passes the cap, and the runner carries on', async () => {
    const h = await connect(sshd);
    const err = await rejection(h.run(['head', '-c', '5000000', '/dev/zero'], { maxOutputBytes: 1000 }));
    expect(err.code).toBe('HOST_COMMAND_OUTPUT_TOO_LARGE');
    expect((await h.run(['echo', 'next'])).stdout).toBe('next\n');
  });

  it('passes large binary output through unchanged (files read without SFTP)', async () => {
    const h = await connect(noSftp);
    const bytes = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.from('\nabctl-runner-1\n'), randomBytes(1000)]);
    const file = join(tmp, 'blob.bin');
    await writeFile(file, bytes);
    expect((await h.readFile(file)).equals(bytes)).toBe(true);
    expect(h.stats.runnerCommands).toBeGreaterThan(0);
  });

  it('streams tar on a runner, holding the host back while the reader is slow, and stops it when the reader goes', async () => {
    const h = await connect(sshd);
    const root = join(tmp, 'tree');
    await mkdir(join(root, 'd'), { recursive: true });
    const big = randomBytes(6 * 1024 * 1024);
    await writeFile(join(root, 'd', 'big.bin'), big);
    await writeFile(join(root, 'small.txt'), 'small\n');
    await h.run(['true']);
    const sessions = h.stats.sessions;
    // A reader that stops for a while after each MiB: the runner's channel pauses and resumes.
    const chunks: Buffer[] = [];
    let seen = 0;
    for await (const chunk of h.tarStream(root)) {
      chunks.push(chunk as Buffer);
      const before = seen;
      seen += (chunk as Buffer).length;
      if (Math.floor(seen / (1024 * 1024)) !== Math.floor(before / (1024 * 1024))) await new Promise((r) => setTimeout(r, 60));
    }
    const archive = Buffer.concat(chunks);
    const out = join(tmp, 'tree.tar');
    await writeFile(out, archive);
    const names = (await run('tar', ['-tf', out])).stdout.split('\n').filter(Boolean).sort();
    expect(names).toEqual(['./', './d/', './d/big.bin', './small.txt']);
    const x = join(tmp, 'x');
    await mkdir(x);
    await run('tar', ['-xf', out, '-C', x]);
    expect((await readFile(join(x, 'd', 'big.bin'))).equals(big)).toBe(true);
    expect(h.stats.sessions).toBe(sessions);

    // The reader goes after the first chunk: tar is killed, and the runner serves the next command.
    const stream = h.tarStream(root);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await until('tar to be gone', async () => (await processesWith(`-C${'\0'}${root}${'\0'}`)).length === 0);
    expect((await h.run(['echo', 'still here'])).stdout).toBe('still here\n');
  });

  it('runs commands at once on a few runners', async () => {
    const h = await connect(sshd);
    const t = Date.now();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => h.run(['sh', '-c', `sleep 0.4; echo ${i}`])));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
    // 12 x 0.4 s one after the other would be 4.8 s; the default pool is up to 4 runners, started one at a time.
    expect(Date.now() - t).toBeLessThan(4800);
    expect(h.stats.runnerCommands).toBe(12);
    expect(h.stats.sessions).toBeGreaterThanOrEqual(1 + 2);
    expect(h.stats.sessions).toBeLessThanOrEqual(1 + 4);
  });

  it('gives a command a channel of its own rather than wait long behind busy runners', async () => {
    const h = await connect(sshd, { commandRunners: 1 });
    await h.run(['true']);
    const long = h.run(['sleep', '3']);
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    expect((await h.run(['echo', 'not waiting'])).stdout).toBe('not waiting\n');
    expect(Date.now() - t).toBeLessThan(2500);
    expect(h.stats.runnerCommands).toBe(2);
    expect((await long).exitCode).toBe(0);
  });

  it('reports a command whose runner was killed under it, and runs the next on a new runner', async () => {
    const h = await connect(sshd);
    await h.run(['true']);
    const token = `96${Math.floor(Math.random() * 1e6)}`;
    const pending = rejection(h.run(['sleep', token], { timeoutMs: 20_000 }));
    await until('the command to start', async () => (await processesWith(`sleep${'\0'}${token}`)).length > 0);
    // The runner is the sh whose command line holds the runner script; kill it (not the command).
    const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
    const runners = stdout.split('\n').filter((l) => l.includes('abctl-runner-1') && l.includes('sh -c'));
    expect(runners.length).toBeGreaterThan(0);
    for (const line of runners) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    const err = await pending;
    expect(err.code).toBe('HOST_COMMAND_FAILED');
    expect(err.message).toContain('command runner');
    // The orphaned command is killed too.
    await until('the sleep to be killed', async () => (await processesWith(`sleep${'\0'}${token}`)).length === 0);
    expect(await h.run(['echo', 'again'])).toEqual({ exitCode: 0, stdout: 'again\n', stderr: '' });
  });

  it('falls back to a channel per command where no runner can start', async () => {
    const h = await connect(noSh);
    // (The login shell may complain on stderr about the empty PATH: not this test's concern.)
    expect(await h.run(['/bin/echo', 'fallback'])).toMatchObject({ exitCode: 0, stdout: 'fallback\n' });
    expect((await h.run(['/bin/sh', '-c', 'exit 4'])).exitCode).toBe(4);
    expect(h.stats.runnerCommands).toBe(0);
  });

  it('is left out with commandRunners: 0', async () => {
    const h = await connect(sshd, { commandRunners: 0 });
    expect((await h.run(['echo', 'own channel'])).stdout).toBe('own channel\n');
    expect(h.stats.runnerCommands).toBe(0);
  });
});

describe('ctx.utils.run over SSH, interrupted', () => {
  it('kills the remote process group when the job is interrupted', async () => {
    const h = await connect(sshd);
    const controller = new AbortController();
    const ops = new OperationUtils({ where: 'reference', host: h, hostName: h.describe(), tempParent: join(tmp, 's'), cacheDir: join(tmp, 'c'), signal: controller.signal });
    try {
      const utils = ops.forPlugin({ name: 'probe', directory: tmp });
      const token = `95${Math.floor(Math.random() * 1e6)}`;
      const pending = utils.run({ argv: ['sh', '-c', `sleep ${token} & sleep ${token}`], timeoutMs: 20_000 }).catch((e: unknown) => e);
      await until('the command to start', async () => (await processesWith(`sleep${'\0'}${token}`)).length >= 2);
      controller.abort();
      const err = await pending;
      expect(err).toBeInstanceOf(AbError);
      expect((err as AbError).code).toBe('HOST_COMMAND_ABORTED');
      await until('the sleeps to be killed', async () => (await processesWith(`sleep${'\0'}${token}`)).length === 0);
    } finally {
      await ops.close();
    }
  });
});

describe('MarkerSplitter', () => {
  it('finds markers split over chunks of any size and passes everything else on', () => {
    const nonce = 'f'.repeat(32);
    const stream = Buffer.from(`data ${nonce.slice(0, 5)} more\n${nonce}P123\ntail without newline${nonce}X7\n`);
    for (const size of [1, 2, 7, 31, 33, stream.length]) {
      const out: Buffer[] = [];
      const markers: string[] = [];
      const split = new MarkerSplitter(nonce, (b) => out.push(Buffer.from(b)), (tag, value) => markers.push(`${tag}${value}`));
      for (let i = 0; i < stream.length; i += size) split.push(stream.subarray(i, i + size));
      expect([Buffer.concat(out).toString(), markers]).toEqual([`data ${nonce.slice(0, 5)} more\ntail without newline`, ['P123', 'X7']]);
    }
  });
});

/**
 * SshHost.runStreaming against a real sshd on loopback: a stream fed to the command's stdin
 * (how deploy ships a bundle), a stdin held open until the command ends (how the agent learns
 * that abctl went away), output streamed as it comes, and a time limit and an abort that kill
 * the remote process group.
 */
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshHost } from '../../services/host/ssh-host.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

let sshd: SshdHandle;
let host: SshHost;

beforeAll(async () => {
  sshd = await startSshd();
  host = await SshHost.connect(sshd.target, { agentSocket: false, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile });
});
afterAll(async () => {
  await host?.close();
  await sshd?.stop();
});

function collect(): { onOutput: (c: Buffer) => void; text: () => string } {
  let out = '';
  return { onOutput: (c) => (out += c.toString('utf8')), text: () => out };
}

describe('SshHost.runStreaming', () => {
  it('feeds a stream to the command and then closes its stdin', async () => {
    const o = collect();
    const r = await host.runStreaming(['wc', '-c'], { timeoutMs: 20_000, stdin: Readable.from([Buffer.alloc(100_000, 1), Buffer.alloc(23, 2)]), onOutput: o.onOutput });
    expect(r).toEqual({ exitCode: 0 });
    expect(o.text().trim()).toBe('100023');
  });

  it('holds stdin open and empty until the command ends; without stdin the command reads /dev/null', async () => {
    // `read` would end at once on /dev/null; with stdin held it waits, so the timeout (below) is what ends it.
    const held = await host.runStreaming(['sh', '-c', 'read x; echo got'], { timeoutMs: 1500, stdin: 'hold' });
    expect(held.stopped).toBe('timeout');
    const o = collect();
    expect(await host.runStreaming(['sh', '-c', 'read x; echo "eof $?"'], { timeoutMs: 20_000, onOutput: o.onOutput })).toEqual({ exitCode: 0 });
    expect(o.text()).toBe('eof 1\n');
  });

  it('streams stdout and stderr as they come and returns the exit status', async () => {
    const o = collect();
    const r = await host.runStreaming(['sh', '-c', 'echo one; echo two >&2; exit 7'], { timeoutMs: 20_000, onOutput: o.onOutput });
    expect(r).toEqual({ exitCode: 7 });
    expect(o.text().split('\n').sort().join(',')).toBe(',one,two');
  });

  it('kills the remote process group on abort, and says so', async () => {
    const controller = new AbortController();
    const input = new PassThrough();
    setTimeout(() => controller.abort(), 500);
    const t0 = Date.now();
    const r = await host.runStreaming(['sh', '-c', 'sleep 30 & wait'], { timeoutMs: 20_000, signal: controller.signal, stdin: input });
    expect(r.stopped).toBe('abort');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await host.run(['sh', '-c', 'pgrep -f "^sleep 30$" || true'])).stdout).toBe('');
  });
});

/**
 * What an SSH reference host costs (issue 14), against a real sshd on loopback: a tar stream
 * crosses compressed (the host's own tar, gzip and zstd; this machine's zlib and zstd decode
 * it) and arrives as the same plain GNU tar stream; reads and bounded globs start no command.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { SshHost } from '../../services/host/ssh-host.js';
import { decodeTransfer, type TarTransfer } from '../../services/host/tar-transfer.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

let sshd: SshdHandle;
let root: string;
const hosts = new Map<TarTransfer, SshHost>();

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'abctl-tar-transfer-'));
  // About 2 MB of text-like configuration: what compresses well, as real file sets do.
  for (let d = 0; d < 20; d++) {
    await mkdir(join(root, `d${d}`));
    for (let f = 0; f < 20; f++) {
      const lines = Array.from({ length: 100 }, (_, i) => `key.${d}.${f}.${i} = value ${(i * 7919 + f * 104729 + d) % 100003}\n`);
      await writeFile(join(root, `d${d}/f${f}.properties`), lines.join(''));
    }
  }
  sshd = await startSshd();
  for (const t of ['auto', 'gzip', 'none'] as const) {
    hosts.set(t, await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false, tarTransfer: t }));
  }
});

afterAll(async () => {
  for (const h of hosts.values()) await h.close();
  await sshd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('tar over SSH', () => {
  it('arrives as the same plain tar stream whatever crossed the connection, moving a fraction of the bytes compressed', async () => {
    const local = execFileSync('tar', ['-C', root, '--sparse', '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    const got = new Map<TarTransfer, { tar: Buffer; moved: number }>();
    for (const [t, h] of hosts) {
      const before = h.tarBytesReceived;
      const tar = await collect(h.tarStream(root));
      got.set(t, { tar, moved: h.tarBytesReceived - before });
    }
    for (const [t, { tar }] of got) expect(tar.equals(local), `transfer ${t}`).toBe(true);
    expect(got.get('none')!.moved).toBe(local.length);
    // The peer: what `ssh host tar -czf -` moves.
    const peer = execFileSync('tar', ['-C', root, '--sparse', '-czf', '-', '.'], { maxBuffer: 64 << 20 }).length;
    expect(got.get('gzip')!.moved).toBeLessThanOrEqual(peer);
    expect(got.get('auto')!.moved).toBeLessThanOrEqual(peer);
    expect(got.get('auto')!.moved).toBeLessThan(local.length / 4);
  });

  it("fails with tar's own message and status when tar fails, compressed or not", async () => {
    for (const h of hosts.values()) {
      const err = await collect(h.tarStream(join(root, 'nope'))).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AbError);
      expect((err as AbError).code).toBe('HOST_TAR_FAILED');
      expect((err as AbError).message).toMatch(/failed with exit 2: .*nope/);
    }
  });
});

describe('round trips', () => {
  it('reads files and globs of bounded depth through the SFTP session, starting no command on the host', async () => {
    const h = await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false });
    const commands = (): number => sshd.log().split('\n').filter((l) => l.startsWith('Starting session: command')).length;
    try {
      const before = commands();
      expect(await h.glob('*/f1.properties', { cwd: root })).toHaveLength(20);
      expect(await h.glob('d1{,0}/*', { cwd: root })).toHaveLength(40);
      expect(commands() - before).toBe(1); // braces may hide extra segments: one find
      expect(await h.glob(['d1/*', '!d1/f1*'], { cwd: root, type: 'any' })).toHaveLength(9);
      expect((await h.readText(join(root, 'd0/f0.properties'))).startsWith('key.0.0.0 = ')).toBe(true);
      expect((await h.stat(join(root, 'd0')))?.type).toBe('directory');
      expect(commands() - before).toBe(1);
    } finally {
      await h.close();
    }
  });
});

describe('decoding a transfer', () => {
  const decode = async (bytes: Buffer): Promise<{ out: Buffer; err: Error | undefined }> => {
    const d = decodeTransfer(Readable.from([bytes]), 'h');
    const out = await collect(d.stream);
    return { out, err: await d.done };
  };
  const plain = Buffer.from('plain tar bytes '.repeat(1000));

  it('decodes gzip and zstd, told apart by their magic numbers', async () => {
    expect((await decode(gzipSync(plain))).out.equals(plain)).toBe(true);
    const zst = execFileSync('zstd', ['-q', '-3', '-c'], { input: plain });
    const z = await decode(zst);
    expect(z.err).toBeUndefined();
    expect(z.out.equals(plain)).toBe(true);
  });

  it('reports a stream that is cut, corrupt or of another format', async () => {
    const gz = gzipSync(plain);
    expect((await decode(gz.subarray(0, gz.length - 10))).err?.message).toMatch(/unexpected end/i);
    const zst = execFileSync('zstd', ['-q', '-3', '-c'], { input: plain });
    expect((await decode(zst.subarray(0, zst.length - 10))).err?.message).toMatch(/zstd -d failed/);
    expect((await decode(plain)).err?.message).toMatch(/starts with bytes 706c6169, neither gzip nor zstd/);
    expect((await decode(Buffer.from([0x1f]))).err?.message).toMatch(/ended after 1 byte/);
    expect((await decode(Buffer.alloc(0))).err).toBeUndefined();
  });
});

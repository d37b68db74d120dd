/**
 * A remote tar stream crosses the SSH connection compressed (issue 14): the reference host
 * pipes its `tar -cf -` through zstd when it has it (and this machine can decode it), else
 * through gzip, so no more bytes move than with `ssh host tar -czf -`. This side decodes the
 * stream back to plain tar before anyone reads it, so callers still get the exact GNU tar
 * stream and apply their rules (excludes, secrets, headers) to it as before; the archive
 * they store is compressed again by the capture codec.
 *
 * Which codec the host picked is read from the stream's magic number, so choosing costs no
 * extra round trip.
 */
import { spawn } from 'node:child_process';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { findExecutable } from '../archive/encoders.js';
import { hostError, shellQuote } from './common.js';

/** What the remote side may compress with: 'auto' is zstd when both sides have it, else gzip. */
export type TarTransfer = 'auto' | 'gzip' | 'none';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** zstd 3 compresses text trees smaller than gzip 6 at a fraction of the CPU; gzip 6 is tar -z's level. */
const REMOTE_ZSTD = 'zstd -q -3 -T0';
const REMOTE_GZIP = 'gzip -6';

/**
 * The remote command: tar piped into the compressor, exiting with tar's status (dash has no
 * pipefail: tar's status comes back through fd 4 while the compressed bytes go to fd 3, the
 * channel's stdout). A compressor failure shows as a cut stream, which decoding reports.
 */
export function compressedTarCommand(tar: readonly string[], transfer: Exclude<TarTransfer, 'none'>): string[] {
  const zstd = transfer === 'auto' && findExecutable('zstd') !== undefined;
  const pick = zstd ? `if command -v zstd >/dev/null 2>&1; then set -- ${REMOTE_ZSTD}; else set -- ${REMOTE_GZIP}; fi; ` : `set -- ${REMOTE_GZIP}; `;
  const script = `${pick}exec 3>&1; s=$( { { ${tar.map(shellQuote).join(' ')} 4>&-; echo $? >&4; } | "$@" >&3 4>&-; } 4>&1 ); exit "\${s:-1}"`;
  return ['sh', '-c', script];
}

function startsWith(head: Buffer, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

export interface DecodedTransfer {
  /** The plain tar stream. */
  readonly stream: Readable;
  /** Settles when decoding is over: undefined when the input decoded whole, else what went wrong. */
  readonly done: Promise<Error | undefined>;
  /** Compressed bytes read from the input so far: what crossed the connection. */
  received(): number;
  /** Stops the decoder (its child process, for zstd). */
  stop(): void;
}

/** Decodes a compressed tar transfer (gzip or zstd, told by its first bytes) as it arrives. */
export function decodeTransfer(input: Readable, host: string): DecodedTransfer {
  const out = new PassThrough();
  let stopDecoder: (() => void) | undefined;
  let settle: (err: Error | undefined) => void = () => {};
  const done = new Promise<Error | undefined>((resolve) => (settle = resolve));
  let head = Buffer.alloc(0);
  let started = false;
  let received = 0;

  const start = (): void => {
    started = true;
    input.removeListener('data', onData);
    input.removeListener('end', onEnd);
    input.pause();
    input.unshift(head);
    // The head comes again as data, so it is counted once here.
    input.on('data', (c: Buffer) => (received += c.length));
    if (startsWith(head, GZIP_MAGIC)) {
      // `out` ends (cut) rather than erroring when decoding fails: `done` says why.
      const gunzip = createGunzip();
      input.once('error', (err) => gunzip.destroy(err));
      gunzip.once('error', (err) => {
        out.end();
        settle(err);
      });
      gunzip.once('end', () => settle(undefined));
      input.pipe(gunzip).pipe(out);
      stopDecoder = () => gunzip.destroy();
    } else if (startsWith(head, ZSTD_MAGIC)) {
      const exe = findExecutable('zstd');
      if (!exe) {
        settle(hostError('HOST_TAR_FAILED', 'the host sent a zstd stream but zstd is not on this machine\'s PATH', host));
        out.end();
        return;
      }
      const child = spawn(exe, ['-d', '-q', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
      stopDecoder = () => child.kill('SIGKILL');
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        if (stderr.length < 4096) stderr += c.toString('utf8');
      });
      const exited = new Promise<Error | undefined>((resolve) => {
        child.once('error', (err) => resolve(err));
        child.once('close', (code, signal) => resolve(code === 0 ? undefined : new Error(`zstd -d failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`)));
      });
      // EPIPE when zstd dies early: its exit status says why.
      child.stdin.on('error', () => {});
      const fed = new Promise<Error | undefined>((resolve) => pipeline(input, child.stdin, (err) => resolve(err ?? undefined)));
      child.stdout.pipe(out);
      void Promise.all([fed, exited]).then(([a, b]) => settle(b ?? a));
    } else {
      settle(hostError('HOST_TAR_FAILED', `the host's compressed tar stream starts with bytes ${head.subarray(0, 4).toString('hex')}, neither gzip nor zstd`, host));
      out.end();
    }
  };
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    if (head.length >= ZSTD_MAGIC.length) start();
  };
  const onEnd = (): void => {
    if (started) return;
    received = head.length;
    // Nothing at all: tar (or the shell) failed before writing, and its exit status says why.
    // A few bytes: no compressor writes so little, so the stream was cut.
    settle(head.length === 0 ? undefined : hostError('HOST_TAR_FAILED', `the host's compressed tar stream ended after ${head.length} byte(s)`, host));
    out.end();
  };
  input.on('data', onData);
  input.once('end', onEnd);

  return {
    stream: out,
    done,
    received: () => received,
    stop: () => {
      stopDecoder?.();
      if (!out.destroyed) out.destroy();
    },
  };
}

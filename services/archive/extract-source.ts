/**
 * The tar stream inside an archive file, as chunks, for extraction. The codec is read from
 * the file's first bytes (gzip and zstd have magic numbers), so callers need not know how
 * the file set was captured.
 *
 * gzip: inflated in a worker thread, so decompression and the main thread's file writes run
 *   on two cores at once, the way `tar -xzf` splits the work between gzip and tar. (Node's
 *   zlib stream would hand each inflated chunk to its reader before inflating the next, which
 *   keeps both halves on one core in turn.) Concatenated members, as capture writes them,
 *   read as one stream. The worker fills its own buffers and transfers them, so the main
 *   thread receives them without a copy; it runs at most WINDOW buffers ahead.
 * zstd: the system `zstd -d` in a child process (another core again).
 * none: plain reads.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../core/errors.js';
import { requireZstd, type CaptureCodec } from './encoders.js';

export interface ArchiveSource extends AsyncIterable<Buffer> {
  readonly codec: CaptureCodec;
  /** Compressed bytes read from the file so far (for progress). */
  readonly archiveBytesRead: number;
  /** Stops reading and decompressing (the iteration then ends). */
  close(): void;
}

/** Size of the chunks the gzip worker sends. */
const CHUNK = 1024 * 1024;
/** Chunks the worker may send ahead of the reader (bounds memory to WINDOW MiB). */
const WINDOW = 8;

export async function detectCodec(path: string): Promise<CaptureCodec> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

export function openArchiveSource(path: string, codec: CaptureCodec): ArchiveSource {
  switch (codec) {
    case 'gzip':
      return new GunzipWorkerSource(path);
    case 'zstd':
      return new ZstdSource(path);
    case 'none':
      return new PlainSource(path);
  }
}

class PlainSource implements ArchiveSource {
  readonly codec = 'none' as const;
  readonly #stream;
  constructor(path: string) {
    this.#stream = createReadStream(path, { highWaterMark: CHUNK });
  }
  get archiveBytesRead(): number {
    return this.#stream.bytesRead;
  }
  close(): void {
    this.#stream.destroy();
  }
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.#stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
}

class ZstdSource implements ArchiveSource {
  readonly codec = 'zstd' as const;
  readonly #path: string;
  readonly #child;
  readonly #stderr: Buffer[] = [];
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #closed = false;

  constructor(path: string) {
    this.#path = path;
    const exe = requireZstd();
    // -d: decompress; -c: to stdout; -q: no progress. The path comes after `--`, never read as an option.
    this.#child = spawn(exe, ['-d', '-c', '-q', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stderr.on('data', (d: Buffer) => this.#stderr.push(d));
    this.#exit = new Promise((resolve, reject) => {
      this.#child.on('error', reject);
      this.#child.on('close', (code, signal) => resolve({ code, signal }));
    });
    this.#exit.catch(() => undefined);
  }

  get archiveBytesRead(): number {
    // zstd reads the file itself; progress counts decompressed bytes instead (see extract.ts).
    return 0;
  }

  close(): void {
    this.#closed = true;
    this.#child.stdout.destroy();
    this.#child.kill('SIGKILL');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const chunk of this.#child.stdout) yield chunk as Buffer;
    const { code, signal } = await this.#exit;
    if (code !== 0 && !this.#closed) {
      const text = Buffer.concat(this.#stderr).toString('utf8').trim();
      throw new UserError('EXTRACT_ARCHIVE_INVALID', `zstd could not decompress the archive (${signal ?? `exit ${code}`})${text ? `: ${text}` : ''}`, {
        where: this.#path,
        hint: 'the archive is damaged; capture the file set again',
      });
    }
  }
}

/**
 * Runs in the worker (as a script, so it works the same from TypeScript sources and from
 * the built JavaScript; getBuiltinModule works whether the script is read as CommonJS or ESM). Messages out: {data: ArrayBuffer, length, read}, {end}, {error};
 * messages in: a number of chunks consumed (credits), or 'stop'.
 */
const WORKER_SCRIPT = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { createReadStream } = process.getBuiltinModule('node:fs');
const { createGunzip } = process.getBuiltinModule('node:zlib');
const { path, chunk, window } = workerData;
const input = createReadStream(path, { highWaterMark: chunk });
const gunzip = createGunzip({ chunkSize: chunk });
let inFlight = 0;
let out = Buffer.allocUnsafeSlow(chunk);
let fill = 0;
const send = () => {
  if (fill === 0) return;
  parentPort.postMessage({ data: out.buffer, length: fill, read: input.bytesRead }, [out.buffer]);
  inFlight++;
  out = Buffer.allocUnsafeSlow(chunk);
  fill = 0;
  if (inFlight >= window) gunzip.pause();
};
gunzip.on('data', (buf) => {
  let pos = 0;
  while (pos < buf.length) {
    const n = Math.min(buf.length - pos, chunk - fill);
    buf.copy(out, fill, pos, pos + n);
    fill += n;
    pos += n;
    if (fill === chunk) send();
  }
});
gunzip.on('end', () => { send(); parentPort.postMessage({ end: true, read: input.bytesRead }); });
const fail = (err) => parentPort.postMessage({ error: { message: err.message, code: err.code } });
gunzip.on('error', fail);
input.on('error', fail);
parentPort.on('message', (m) => {
  if (m === 'stop') { input.destroy(); gunzip.destroy(); process.exit(0); }
  inFlight -= m;
  if (inFlight < window) gunzip.resume();
});
input.pipe(gunzip);
`;

interface WorkerMessage {
  data?: ArrayBuffer;
  length?: number;
  read?: number;
  end?: true;
  error?: { message: string; code?: string };
}

class GunzipWorkerSource implements ArchiveSource {
  readonly codec = 'gzip' as const;
  readonly #path: string;
  readonly #worker: Worker;
  readonly #queue: WorkerMessage[] = [];
  #wake: (() => void) | undefined;
  #read = 0;
  #closed = false;
  #failure: Error | undefined;

  constructor(path: string) {
    this.#path = path;
    this.#worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { path, chunk: CHUNK, window: WINDOW } });
    this.#worker.on('message', (m: WorkerMessage) => {
      this.#queue.push(m);
      this.#wake?.();
    });
    this.#worker.on('error', (err) => {
      this.#failure = err;
      this.#wake?.();
    });
    this.#worker.on('exit', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  get archiveBytesRead(): number {
    return this.#read;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.postMessage('stop');
    void this.#worker.terminate();
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      while (true) {
        const m = this.#queue.shift();
        if (!m) {
          if (this.#failure) throw this.#invalid(this.#failure.message);
          if (this.#closed) return;
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        if (m.read !== undefined) this.#read = m.read;
        if (m.error) throw this.#invalid(m.error.message);
        if (m.end) return;
        if (m.data) {
          yield Buffer.from(m.data, 0, m.length);
          // Consumed: the worker may send one more.
          if (!this.#closed) this.#worker.postMessage(1);
        }
      }
    } finally {
      this.close();
    }
  }

  #invalid(message: string): UserError {
    return new UserError('EXTRACT_ARCHIVE_INVALID', `gzip could not decompress the archive: ${message}`, {
      where: this.#path,
      hint: 'the archive is damaged or not gzip; capture the file set again',
    });
  }
}

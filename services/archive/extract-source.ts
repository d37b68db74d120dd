/**
 * The tar stream inside an archive file, as chunks, for extraction. The codec is read from
 * the file's first bytes (gzip and zstd have magic numbers), so callers need not know how
 * the file set was captured.
 *
 * gzip: inflated in a worker thread, so decompression and the main thread's file writes run
 *   on two cores at once, the way `tar -xzf` splits the work between gzip and tar. (Node's
 *   zlib stream would hand each inflated chunk to its reader before inflating the next, which
 *   keeps both halves on one core in turn.) Concatenated members, as capture writes them,
 *   read as one stream. Node's zlib inflates about twice as fast as gzip(1) here.
 * zstd: the system `zstd -d` (Node 20 has no zstd), its output drained by the same worker.
 *   Read straight from the main thread, the 64 KiB pipe made zstd and the writer wait on
 *   each other at every chunk (3x slower than tar under load); the worker keeps it flowing.
 * Both: the worker fills its own 1 MiB buffers and transfers them, so the main thread gets
 *   them without a copy, at most WINDOW buffers ahead.
 * none: plain reads.
 */
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
      return new WorkerSource(path, 'gzip');
    case 'zstd':
      return new WorkerSource(path, 'zstd', requireZstd());
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

/**
 * Runs in the worker, given as a script so it works the same from the TypeScript sources
 * and the built JavaScript (getBuiltinModule works whether it is read as CommonJS or ESM).
 * Messages out: {data: ArrayBuffer, length, read}, {end}, {error}; in: a consumed
 * ArrayBuffer coming back, or 'stop'.
 */
const WORKER_SCRIPT = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { createReadStream } = process.getBuiltinModule('node:fs');
const { createGunzip } = process.getBuiltinModule('node:zlib');
const { spawn } = process.getBuiltinModule('node:child_process');
const { path, codec, zstd, chunk, window } = workerData;
let input, output, child;
if (codec === 'gzip') {
  // Small stream buffers come from the malloc heap and are reused; 1 MiB ones were fresh
  // pages every time (a page fault per 4 KiB, more CPU than tar spends in total).
  input = createReadStream(path, { highWaterMark: 64 * 1024 });
  output = createGunzip({ chunkSize: 64 * 1024 });
  input.pipe(output);
} else {
  child = spawn(zstd, ['-d', '-c', '-q', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  output = child.stdout;
}
const read = () => (input ? input.bytesRead : 0);
let inFlight = 0;
// Transfer buffers circulate: the main thread sends each back once it has written its data.
const spare = [];
const take = () => spare.pop() || Buffer.allocUnsafeSlow(chunk);
let out = take();
let fill = 0;
const send = () => {
  if (fill === 0) return;
  parentPort.postMessage({ data: out.buffer, length: fill, read: read() }, [out.buffer]);
  inFlight++;
  out = take();
  fill = 0;
  if (inFlight >= window) output.pause();
};
output.on('data', (buf) => {
  let pos = 0;
  while (pos < buf.length) {
    const n = Math.min(buf.length - pos, chunk - fill);
    buf.copy(out, fill, pos, pos + n);
    fill += n;
    pos += n;
    if (fill === chunk) send();
  }
});
const fail = (err) => parentPort.postMessage({ error: { message: err.message } });
const finish = () => { send(); parentPort.postMessage({ end: true, read: read() }); };
output.on('error', fail);
if (input) {
  input.on('error', fail);
  output.on('end', finish);
} else {
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  child.on('error', fail);
  let ended = false, code;
  const done = () => {
    if (!ended || code === undefined) return;
    if (code === 0) finish();
    else fail(new Error('zstd ' + code + ': ' + Buffer.concat(stderr).toString().trim()));
  };
  output.on('end', () => { ended = true; done(); });
  child.on('exit', (c, sig) => { code = sig || c; done(); });
}
parentPort.on('message', (m) => {
  if (m === 'stop') {
    if (child) child.kill('SIGKILL');
    if (input) input.destroy();
    output.destroy();
    process.exit(0);
  }
  // A consumed buffer coming back.
  spare.push(Buffer.from(m));
  inFlight--;
  if (inFlight < window) output.resume();
});
`;

interface WorkerMessage {
  data?: ArrayBuffer;
  length?: number;
  read?: number;
  end?: true;
  error?: { message: string; code?: string };
}

class WorkerSource implements ArchiveSource {
  readonly codec: 'gzip' | 'zstd';
  readonly #path: string;
  readonly #worker: Worker;
  readonly #queue: WorkerMessage[] = [];
  #wake: (() => void) | undefined;
  #read = 0;
  #closed = false;
  #failure: Error | undefined;

  constructor(path: string, codec: 'gzip' | 'zstd', zstd?: string) {
    this.#path = path;
    this.codec = codec;
    this.#worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { path, codec, zstd, chunk: CHUNK, window: WINDOW } });
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
          // The reader has finished with the chunk (extract.ts writes synchronously and keeps
          // no views): hand the memory back for reuse, which also lets the worker send one more.
          if (!this.#closed) this.#worker.postMessage(m.data, [m.data]);
        }
      }
    } finally {
      this.close();
    }
  }

  #invalid(message: string): UserError {
    return new UserError('EXTRACT_ARCHIVE_INVALID', `${this.codec} could not decompress the archive: ${message}`, {
      where: this.#path,
      hint: `the archive is damaged or not ${this.codec}; capture the file set again`,
    });
  }
}

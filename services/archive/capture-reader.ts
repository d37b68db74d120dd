/**
 * The per-entry system calls of a local capture (lstat, and open/read/close of small files,
 * readlink of symlinks), done in batches ahead of the tar writer, on worker threads once a
 * tree is big enough to pay for starting them.
 *
 * Why: on many small files the capture was bound by one thread making four synchronous calls
 * per file (plus Node's cost around each) while the other core waited; GNU tar makes the same
 * calls, but cheaper. The main thread keeps everything that decides what goes into the
 * archive (order, excludes, secrets, hard links, headers), so the archive is byte for byte
 * what the one-thread path writes; the workers fetch stats and bytes, and say whether the bytes
 * they read hold a private key (the same function the main thread would run on them).
 *
 * Batches are answered in the order they were asked; each carries at most BATCH_BYTES of
 * file content (files that do not fit are left to the caller), and at most AHEAD batches
 * are out at once, so memory stays at a few MiB whatever the tree.
 */
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { contentHoldsKey, isSecretContent, SECRET_NEEDLES } from './secrets.js';

/** What the capture needs of an lstat. */
export interface EntryStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly nlink: number;
  readonly dev: number;
  readonly ino: number;
  readonly blocks: number;
}

/**
 * One entry to fetch: where it is and whether small-file content is wanted. The path is
 * `parent + name` (parent absolute, ending in `/`): joined by the reader, so the walk builds
 * no string per entry for it. An empty name: nothing to fetch (an entry the walk only names).
 */
export interface ReadRequest {
  readonly parent: string;
  readonly name: string;
  readonly content: boolean;
  /** readdir says it is a regular file (then it is opened before it is stat'ed). */
  readonly file?: boolean;
}

/** An error from the worker, with the errno code that decides the user error. */
export type ReadError = Error & { code?: string };

export interface ReadResult {
  /** The lstat, or undefined when `error` is set by it. */
  readonly stat: EntryStat | undefined;
  /** lstat, open, read or readlink failed. */
  readonly error: ReadError | undefined;
  /** The content of a small regular file, when it was asked for and fitted the batch; shorter than stat.size when the file shrank. */
  readonly content: Buffer | undefined;
  /** A symlink's target. */
  readonly link: string | undefined;
  /** `content` holds a private key (secrets.ts isSecretContent, run by the reader). */
  readonly holdsKey: boolean;
}

/** Entries per batch: enough that a message round trip is a small share of the work. */
export const BATCH = 256;
/** Content bytes per batch. */
const BATCH_BYTES = 1024 * 1024;
/**
 * Batches out at once: enough to keep a reader busy while the main thread works through one.
 * More kept entries alive long enough for V8 to grow the main heap (measured: 4 ahead cost
 * ~17 MB of peak RSS on 100k small files against 2 or 3).
 */
const AHEAD = 3;
/**
 * Fields per entry in the stats array: the EntryStat fields, then the count of content bytes
 * read (-1: not read, -2: no stat), then 1 when that content holds a private key.
 */
const FIELDS = 11;

/** Message from the reader: stats, errors and links per entry, contents back to back. */
interface BatchReply {
  readonly stats: Float64Array;
  /** Per entry, or null when no entry of the batch has one (most batches): nothing to copy between threads. */
  readonly errors: ({ message: string; code?: string } | null)[] | null;
  readonly links: (string | null)[] | null;
  readonly data: ArrayBuffer;
  readonly ends: Int32Array;
}

/**
 * Fetches one batch. Runs on the main thread for small trees and, as its own source text, in
 * the workers: one function, so both paths cannot drift apart. It may use only its arguments.
 */
function readBatch(
  fsm: typeof fs,
  dirs: readonly string[],
  dirOf: Uint16Array,
  names: readonly string[],
  want: Uint8Array,
  data: Buffer,
  limits: { sniff: number; fields: number; openFlags: number },
  holdsKey: (content: Buffer) => boolean,
): BatchReply {
  const n = names.length;
  const stats = new Float64Array(n * limits.fields);
  let errors: ({ message: string; code?: string } | null)[] | null = null;
  let links: (string | null)[] | null = null;
  const ends = new Int32Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const at = i * limits.fields;
    stats[at + 9] = -2;
    ends[i] = used;
    // Entries the walk only names (skipped ones) have no path.
    if (names[i] === '') continue;
    const path = dirs[dirOf[i]!]! + names[i]!;
    let st: fs.Stats | undefined;
    let fd = -1;
    try {
      // readdir said a regular file whose content is wanted: open it first and fstat the open
      // file, which spares the path lookup of an lstat (measured ~15% of the reader's CPU).
      // O_NOFOLLOW fails on a symlink swapped in; any failure falls back to lstat below.
      if (want[i] === 2) {
        try {
          fd = fsm.openSync(path, limits.openFlags);
        } catch {
          fd = -1;
        }
        if (fd >= 0) st = fsm.fstatSync(fd);
      }
      st ??= fsm.lstatSync(path);
    } catch (err) {
      if (fd >= 0) fsm.closeSync(fd);
      (errors ??= new Array(n).fill(null))[i] = { message: (err as Error).message, code: (err as { code?: string }).code };
      continue;
    }
    stats[at + 9] = -1;
    stats[at] = st.mode;
    stats[at + 1] = st.uid;
    stats[at + 2] = st.gid;
    stats[at + 3] = st.size;
    stats[at + 4] = st.mtimeMs;
    stats[at + 5] = st.nlink;
    stats[at + 6] = st.dev;
    stats[at + 7] = st.ino;
    stats[at + 8] = st.blocks;
    try {
      if (st.isSymbolicLink()) {
        (links ??= new Array(n).fill(null))[i] = fsm.readlinkSync(path);
      } else if (want[i] && st.isFile() && st.nlink === 1 && st.size <= limits.sniff && used + st.size <= data.length) {
        if (fd < 0) fd = fsm.openSync(path, limits.openFlags);
        let got = 0;
        // Exactly the size the stat gave: a file that grows meanwhile is cut there, one that shrinks shows as short.
        while (got < st.size) {
          const r = fsm.readSync(fd, data, used + got, st.size - got, null);
          if (r === 0) break;
          got += r;
        }
        stats[at + 9] = got;
        // The secret check by content scans what was just read, here rather than on the writer's thread.
        if (got > 0 && holdsKey(data.subarray(used, used + got))) stats[at + 10] = 1;
        used += got;
      }
    } catch (err) {
      (errors ??= new Array(n).fill(null))[i] = { message: (err as Error).message, code: (err as { code?: string }).code };
    } finally {
      if (fd >= 0) fsm.closeSync(fd);
    }
    ends[i] = used;
  }
  return { stats, errors, links, data: data.buffer as ArrayBuffer, ends };
}

/** The worker: answers each batch with readBatch, reusing the content buffer the main thread hands back. */
const WORKER_SCRIPT = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const fs = process.getBuiltinModule('node:fs');
const readBatch = ${readBatch.toString()};
const contentHoldsKey = ${contentHoldsKey.toString()};
const needles = Object.fromEntries(Object.entries(workerData.needles).map(([k, v]) => [k, Buffer.from(v, 'latin1')]));
const holdsKey = (data) => contentHoldsKey(data, needles);
const spare = [];
parentPort.on('message', (m) => {
  if (m.spare) spare.push(m.spare);
  const buf = spare.length ? Buffer.from(spare.pop()) : Buffer.allocUnsafeSlow(workerData.bytes);
  const reply = readBatch(fs, m.dirs, m.dirOf, m.names, m.want, buf, workerData.limits, holdsKey);
  parentPort.postMessage(reply, [reply.stats.buffer, reply.data, reply.ends.buffer]);
});
`;

/**
 * A batch as readBatch takes it: its directories, each once (a message copies every string it
 * holds, so one per entry cost ~45 bytes of copying each way), each entry's directory by index,
 * names, and per entry what is wanted: 0 no content, 1 content, 2 content of what readdir calls a
 * regular file.
 */
function request(items: readonly ReadRequest[]): { dirs: string[]; dirOf: Uint16Array; names: string[]; want: Uint8Array } {
  const n = items.length;
  const dirs: string[] = [];
  const dirOf = new Uint16Array(n);
  const names = new Array<string>(n);
  const want = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = items[i]!;
    // The walk hands out a directory's entries together: comparing with the last one finds nearly every repeat.
    if (dirs[dirs.length - 1] !== x.parent) dirs.push(x.parent);
    dirOf[i] = dirs.length - 1;
    names[i] = x.name;
    want[i] = x.content ? (x.file ? 2 : 1) : 0;
  }
  return { dirs, dirOf, names, want };
}

/** What was read for one entry, filled again for each entry `take` hands out (no objects per entry). */
class Cursor implements ReadResult {
  stat: EntryStat | undefined;
  error: ReadError | undefined;
  content: Buffer | undefined;
  link: string | undefined;
  holdsKey = false;
  readonly #stat = { mode: 0, uid: 0, gid: 0, size: 0, mtimeMs: 0, nlink: 0, dev: 0, ino: 0, blocks: 0 };

  load(reply: BatchReply, i: number): void {
    const e = reply.errors?.[i];
    this.error = e ? Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code }) : undefined;
    const at = i * FIELDS;
    const s = reply.stats;
    if (s[at + 9] === -2) this.stat = undefined;
    else {
      const st = this.#stat;
      st.mode = s[at]!;
      st.uid = s[at + 1]!;
      st.gid = s[at + 2]!;
      st.size = s[at + 3]!;
      st.mtimeMs = s[at + 4]!;
      st.nlink = s[at + 5]!;
      st.dev = s[at + 6]!;
      st.ino = s[at + 7]!;
      st.blocks = s[at + 8]!;
      this.stat = st;
    }
    const got = s[at + 9]!;
    const end = reply.ends[i]!;
    this.content = got >= 0 ? Buffer.from(reply.data, end - got, got) : undefined;
    this.holdsKey = s[at + 10] === 1;
    this.link = reply.links?.[i] ?? undefined;
  }
}

function settle<T>(batch: Pending<T>, reply: BatchReply | undefined, failure: Error | undefined): void {
  if (batch.reply || batch.failure) return;
  batch.reply = reply;
  batch.failure = failure;
  batch.wake?.();
}

interface Reader<T> {
  readonly worker: Worker;
  /** Batches sent and not answered yet, oldest first. */
  readonly pending: Pending<T>[];
}

interface Pending<T> {
  readonly items: T[];
  reply: BatchReply | undefined;
  failure: Error | undefined;
  wake: (() => void) | undefined;
}

/**
 * Pulls entries from `source` (the walk, in archive order) and hands them back in the same
 * order with their stats and small contents. `readers` worker threads (0: all on the
 * calling thread) start once a first full batch shows the tree is not tiny.
 */
export class ReadAhead<T extends ReadRequest> {
  readonly #source: () => T | undefined;
  readonly #readers: number;
  readonly #openFlags: number;
  readonly #sniff: number;
  #workers: Reader<T>[] | undefined;
  #next = 0;
  #done = false;
  readonly #queue: Pending<T>[] = [];
  /** The batch being handed out, and where in it. */
  #current: Pending<T> | undefined;
  #at = 0;
  readonly #spare: ArrayBuffer[] = [];
  readonly #cursor = new Cursor();

  constructor(source: () => T | undefined, opts: { readers: number; openFlags: number; sniff: number }) {
    this.#source = source;
    this.#readers = opts.readers;
    this.#openFlags = opts.openFlags;
    this.#sniff = opts.sniff;
  }

  /**
   * The next entry of the batch at hand, or undefined when it is used up (then `advance`).
   * What was read for it is in `result` until the next call: one object, filled again.
   */
  take(): T | undefined {
    const batch = this.#current;
    if (!batch || this.#at >= batch.items.length) return undefined;
    const i = this.#at++;
    this.#cursor.load(batch.reply!, i);
    return batch.items[i];
  }

  /** What was read for the entry `take` returned last. */
  get result(): ReadResult {
    return this.#cursor;
  }

  /** Waits for the next batch; false at the end of the walk. */
  async advance(): Promise<boolean> {
    if (this.#current?.reply) this.#spare.push(this.#current.reply.data);
    this.#current = undefined;
    this.#fill();
    const head = this.#queue.shift();
    if (!head) return false;
    if (this.#workers?.length === 0) head.reply = this.#readHere(head.items);
    else if (!head.reply && !head.failure) await new Promise<void>((resolve) => (head.wake = resolve));
    if (head.failure) throw head.failure;
    this.#current = head;
    this.#at = 0;
    this.#fill();
    return true;
  }

  /** The next entry with a copy of what was read for it; undefined at the end (take/advance without the copies). */
  async next(): Promise<[T, ReadResult] | undefined> {
    for (;;) {
      const item = this.take();
      if (item !== undefined) {
        const r = this.#cursor;
        return [item, { stat: r.stat && { ...r.stat }, error: r.error, content: r.content, link: r.link, holdsKey: r.holdsKey }];
      }
      if (!(await this.advance())) return undefined;
    }
  }

  /** Stops the workers; safe to call more than once. */
  close(): void {
    for (const r of this.#workers ?? []) void r.worker.terminate();
    this.#workers = [];
    this.#done = true;
  }

  #fill(): void {
    // Without workers, one walk step of BATCH entries at a time, each entry read only when it
    // is handed out (so what the caller writes is never staler than one entry).
    const limit = this.#workers?.length === 0 ? 1 : AHEAD;
    while (!this.#done && this.#queue.length < limit) {
      const items: T[] = [];
      for (let item = this.#source(); item !== undefined; item = items.length < BATCH ? this.#source() : undefined) {
        items.push(item);
        if (items.length === BATCH) break;
      }
      if (items.length < BATCH) this.#done = true;
      if (items.length === 0) return;
      this.#workers ??= items.length === BATCH && this.#readers > 0 ? this.#start() : [];
      if (this.#workers.length === 0) {
        for (const item of items) this.#queue.push({ items: [item], reply: undefined, failure: undefined, wake: undefined });
        return;
      }
      const batch: Pending<T> = { items, reply: undefined, failure: undefined, wake: undefined };
      this.#queue.push(batch);
      this.#dispatch(batch);
    }
  }

  #limits(): { sniff: number; fields: number; openFlags: number } {
    return { sniff: this.#sniff, fields: FIELDS, openFlags: this.#openFlags };
  }

  #start(): Reader<T>[] {
    return Array.from({ length: this.#readers }, () => {
      const worker = new Worker(WORKER_SCRIPT, {
        eval: true,
        workerData: { bytes: BATCH_BYTES, limits: this.#limits(), needles: SECRET_NEEDLES },
        // Stats and names are short-lived: a small young generation keeps each reader's memory low.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 64 },
      });
      // A worker answers its batches in order: its n-th reply belongs to the n-th batch it was sent.
      const reader: Reader<T> = { worker, pending: [] };
      worker.on('message', (reply: BatchReply) => {
        const batch = reader.pending.shift();
        if (batch) settle(batch, reply, undefined);
      });
      const fail = (err: Error): void => {
        for (const batch of reader.pending.splice(0)) settle(batch, undefined, err);
      };
      worker.on('error', fail);
      worker.on('exit', () => fail(new Error('a capture reader thread stopped')));
      return reader;
    });
  }

  #readHere(items: readonly T[]): BatchReply {
    const data = this.#spare.length ? Buffer.from(this.#spare.pop()!) : Buffer.allocUnsafeSlow(BATCH_BYTES);
    const { dirs, dirOf, names, want } = request(items);
    return readBatch(fs, dirs, dirOf, names, want, data, this.#limits(), isSecretContent);
  }

  #dispatch(batch: Pending<T>): void {
    const { dirs, dirOf, names, want } = request(batch.items);
    const workers = this.#workers!;
    const reader = workers[this.#next++ % workers.length]!;
    reader.pending.push(batch);
    const spare = this.#spare.pop();
    reader.worker.postMessage(spare ? { dirs, dirOf, names, want, spare } : { dirs, dirOf, names, want }, spare ? [spare] : []);
  }
}

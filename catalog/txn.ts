/**
 * All-or-nothing changes to the catalog directory.
 *
 * A commit first writes every new file into `.staging-<id>/` (mirroring the final paths)
 * and fsyncs it. Then it writes the journal `.txn-<id>.json` listing the renames: that
 * write is the commit point. Before it, a crash leaves only staging behind, which the
 * next opener deletes (the catalog is unchanged). After it, the next opener replays the
 * journal (each step is safe to redo), so the catalog ends up fully changed. Replaced and
 * deleted paths are moved to `.replaced-<id>/` and removed once the journal is gone.
 *
 * Callers hold the instance lock for commit() and recover().
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { environmentError } from '../core/errors.js';

export interface TxnOp {
  readonly type: 'replace' | 'delete';
  /** Relative to the catalog root. */
  readonly target: string;
}

interface Journal {
  readonly id: string;
  readonly ops: readonly TxnOp[];
}

const STAGING = '.staging-';
const REPLACED = '.replaced-';
const JOURNAL = '.txn-';
/** Bumped after every applied commit, so lock-free readers can tell that they raced one. */
export const GENERATION_FILE = '.generation';

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a file operation whose errors may not name the file (a write failing with ENOSPC
 * has no path): environment errors come back as UserErrors naming `path`.
 */
async function naming<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw environmentError(err, path) ?? err;
  }
}

/** fdatasync of one written file. */
async function syncFile(file: string): Promise<void> {
  await naming(file, async () => {
    const fh = await open(file, 'r');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  });
}

/** From this many staged files on, one syncfs(2) of the file system beats a fdatasync per file. */
const SYNCFS_MIN_FILES = 32;

/**
 * syncfs(2) of the file system holding `dir` (through coreutils' `sync -f`: Node has no
 * binding): on Linux it returns once all of that file system's dirty data and metadata are
 * on disk, including the staged files and their directory entries, in one journal commit
 * instead of one per file. False when it is not available (the caller then syncs per file).
 */
function syncFileSystem(dir: string): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], { timeout: 120_000 }, (err) => resolve(!err));
  });
}

/** Makes the staged files durable: one file-system sync for many files, else (or if that fails) fdatasync per file, in parallel. */
async function syncStaged(dir: string, files: readonly { rel: string }[]): Promise<void> {
  if (files.length === 0) return;
  if (files.length >= SYNCFS_MIN_FILES && (await syncFileSystem(dir))) return;
  await eachLimit(files, 16, (f) => syncFile(join(dir, f.rel)));
}

/** Rename, or copy and remove across file systems. */
async function moveFile(from: string, to: string): Promise<void> {
  await naming(to, async () => {
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(from, to);
      const fh = await open(to, 'r+');
      await fh.datasync().finally(() => fh.close());
      await unlink(from);
    }
  });
}

/** Hard link (the file is shared, no space used), or a synced copy where links are not possible. */
async function linkFile(from: string, to: string): Promise<void> {
  await naming(to, async () => {
    await mkdir(dirname(to), { recursive: true });
    try {
      await link(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw err;
      await copyFile(from, to);
      const fh = await open(to, 'r+');
      await fh.datasync().finally(() => fh.close());
    }
  });
}

/** Runs `fn` over `items` with at most `limit` at once (parallel I/O without opening thousands of files). */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Test hook: `AB_CATALOG_PAUSE=<point>:<ms>` stops at `staged` or `applying` so a test can kill the process there. */
async function pauseAt(point: string): Promise<void> {
  const spec = process.env.AB_CATALOG_PAUSE;
  if (!spec) return;
  const [p, ms] = spec.split(':');
  if (p !== point) return;
  process.stderr.write(`catalog-paused:${point}\n`);
  await new Promise((r) => setTimeout(r, Number(ms) || 10_000));
}

export class Transaction {
  readonly id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #ops: TxnOp[] = [];
  readonly #files: { rel: string; data: string | Uint8Array }[] = [];
  readonly #moves: { rel: string; from: string }[] = [];
  readonly #links: { rel: string; from: string }[] = [];
  readonly #targets = new Set<string>();

  constructor(readonly root: string) {}

  get stagingDir(): string {
    return join(this.root, `${STAGING}${this.id}`);
  }

  get ops(): readonly TxnOp[] {
    return this.#ops;
  }

  /** Files written by this commit (new or changed), relative to the root. */
  get written(): readonly string[] {
    return this.#files.map((f) => f.rel);
  }

  #claim(target: string): void {
    if (this.#targets.has(target)) throw new Error(`internal error: catalog path ${target} changed twice in one commit`);
    this.#targets.add(target);
  }

  /** `target` (a file, or a directory whose files are all given with putFile under it) becomes the staged version. */
  replace(target: string): void {
    this.#claim(target);
    this.#ops.push({ type: 'replace', target });
  }

  /**
   * Writes one file into staging; its final place is `rel`. The write starts at once (at most
   * 16 in flight), so the file system works while the caller renders the next documents;
   * commit() waits for all of them, abort() removes them.
   */
  putFile(rel: string, data: string | Uint8Array): void {
    const f = { rel, data };
    this.#files.push(f);
    this.#queue.push(f);
    this.#pump();
  }

  readonly #queue: { rel: string; data: string | Uint8Array }[] = [];
  readonly #made = new Map<string, Promise<unknown>>();
  #inflight = 0;
  #idle: (() => void) | undefined;
  #writeError: unknown;
  #writeFailed = false;
  #committing = false;

  #pump(): void {
    while (this.#inflight < 16 && this.#queue.length > 0) {
      const f = this.#queue.shift() as { rel: string; data: string | Uint8Array };
      this.#inflight += 1;
      this.#writeOne(f)
        .catch((err: unknown) => {
          if (!this.#writeFailed) {
            this.#writeFailed = true;
            this.#writeError = err;
          }
        })
        .finally(() => {
          this.#inflight -= 1;
          this.#pump();
          if (this.#inflight === 0 && this.#queue.length === 0) this.#idle?.();
        });
    }
  }

  async #writeOne(f: { rel: string; data: string | Uint8Array }): Promise<void> {
    if (this.#writeFailed) return;
    const file = join(this.stagingDir, f.rel);
    const parent = dirname(file);
    let mk = this.#made.get(parent);
    if (!mk) {
      mk = mkdir(parent, { recursive: true });
      this.#made.set(parent, mk);
    }
    await naming(file, async () => {
      await mk;
      await writeFile(file, f.data, { mode: 0o644 });
    });
  }

  /** Waits until every file given so far is written; throws the first write error. */
  async #flushWrites(): Promise<void> {
    if (this.#inflight > 0 || this.#queue.length > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.#idle = undefined;
    if (this.#writeFailed) throw this.#writeError;
  }

  /** Drops a transaction that will not be committed: waits for its staged writes, removes staging. */
  async abort(): Promise<void> {
    if (this.#committing) return; // commit() cleans up or leaves it to recover()
    await this.#flushWrites().catch(() => undefined);
    if (this.#files.length > 0) await rm(this.stagingDir, { recursive: true, force: true });
  }

  /** Moves an existing file (e.g. a captured archive in the instance tmp dir) into staging; its final place is `rel`. */
  moveIn(rel: string, from: string): void {
    this.#moves.push({ rel, from });
  }

  /** Links an existing file (an archive another object keeps too) into staging; its final place is `rel`. */
  linkIn(rel: string, from: string): void {
    this.#links.push({ rel, from });
  }

  delete(target: string): void {
    this.#claim(target);
    this.#ops.push({ type: 'delete', target });
  }

  get isEmpty(): boolean {
    return this.#ops.length === 0;
  }

  /** Stages, passes the commit point, applies, cleans up. */
  async commit(): Promise<void> {
    if (this.isEmpty) {
      await this.abort();
      return;
    }
    this.#committing = true;
    try {
      await naming(this.stagingDir, () => mkdir(this.stagingDir, { recursive: true }));
      await this.#flushWrites();
      await syncStaged(this.stagingDir, this.#files);
      for (const m of this.#moves) await moveFile(m.from, join(this.stagingDir, m.rel));
      for (const l of this.#links) await linkFile(l.from, join(this.stagingDir, l.rel));
      await pauseAt('staged');
    } catch (err) {
      await this.#flushWrites().catch(() => undefined);
      await rm(this.stagingDir, { recursive: true, force: true });
      throw err;
    }
    const journal: Journal = { id: this.id, ops: this.#ops };
    const journalFile = join(this.root, `${JOURNAL}${this.id}.json`);
    // On failure staging stays: the journal may have landed after all, and recover() decides.
    await naming(journalFile, () => writeFileAtomic(journalFile, JSON.stringify(journal), { fsync: true }));
    // Past the commit point: an error from here on is finished by the next recover().
    await replay(this.root, journal);
  }
}

/** Applies a journal; every step checks what is already done, so it can run again after a crash. */
async function replay(root: string, journal: Journal): Promise<void> {
  const staging = join(root, `${STAGING}${journal.id}`);
  const replaced = join(root, `${REPLACED}${journal.id}`);
  let first = true;
  for (const op of journal.ops) {
    const target = join(root, op.target);
    const staged = join(staging, op.target);
    const old = join(replaced, op.target);
    if (op.type === 'replace' && !(await exists(staged))) continue; // already moved in
    if ((await exists(target)) && !(await exists(old))) {
      await mkdir(dirname(old), { recursive: true });
      await rename(target, old);
    }
    if (op.type === 'replace') {
      await mkdir(dirname(target), { recursive: true });
      await rename(staged, target);
    }
    if (first) {
      first = false;
      await pauseAt('applying');
    }
  }
  await bumpGeneration(root);
  await unlink(join(root, `${JOURNAL}${journal.id}.json`));
  await rm(staging, { recursive: true, force: true });
  await rm(replaced, { recursive: true, force: true });
}

async function bumpGeneration(root: string): Promise<void> {
  const file = join(root, GENERATION_FILE);
  const current = Number((await readFile(file, 'utf8').catch(() => '0')).trim()) || 0;
  await naming(file, () => writeFileAtomic(file, `${current + 1}\n`, { fsync: false }));
}

/** True when a commit is in flight or a crashed one left something to clean up. */
export async function needsRecovery(root: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return false;
  }
  return entries.some((e) => e.startsWith(JOURNAL) || e.startsWith(STAGING) || e.startsWith(REPLACED));
}

/** Finishes journaled commits and drops unfinished staging. Returns what it did, for messages. */
export async function recover(root: string): Promise<{ rolledForward: number; rolledBack: number }> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return { rolledForward: 0, rolledBack: 0 };
  }
  let rolledForward = 0;
  let rolledBack = 0;
  const journaled = new Set<string>();
  for (const e of entries.filter((x) => x.startsWith(JOURNAL) && x.endsWith('.json')).sort()) {
    const file = join(root, e);
    let journal: Journal;
    try {
      journal = JSON.parse(await readFile(file, 'utf8')) as Journal;
    } catch {
      // write-file-atomic never leaves a half journal; an unreadable one was not ours to replay.
      await unlink(file).catch(() => undefined);
      continue;
    }
    journaled.add(journal.id);
    await replay(root, journal);
    rolledForward += 1;
  }
  for (const e of entries) {
    if (e.startsWith(STAGING) && !journaled.has(e.slice(STAGING.length))) {
      await rm(join(root, e), { recursive: true, force: true });
      rolledBack += 1;
    } else if (e.startsWith(REPLACED) && !journaled.has(e.slice(REPLACED.length))) {
      await rm(join(root, e), { recursive: true, force: true });
    } else if (e.startsWith(JOURNAL) && !e.endsWith('.json')) {
      // write-file-atomic's temporary file of a journal that never landed.
      await rm(join(root, e), { force: true });
    }
  }
  return { rolledForward, rolledBack };
}

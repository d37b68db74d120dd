/**
 * The plugins' per-host cache (after the `IPlugin.cache` calls of the storage plugin SDK in
 * reference 003): one JSON file per plugin and host, `<cacheDir>/<plugin>/<host digest>.json`,
 * written whole and atomically (write-file-atomic) with mode 0600 in a 0700 directory. Each
 * operation reads the file afresh, so two abctl processes see each other's entries; the last
 * writer wins an exact race, which a cache can afford. Expired entries are never returned, and
 * are dropped from the file by the next write (or by a read that finds any).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { PluginError, environmentError } from '../../core/errors.js';
import type { HostCache, JsonValue } from '../../core/util-contract.js';

/** The reference SDK's default lifetime of an entry. */
export const DEFAULT_CACHE_TTL_MS = 30_000;

interface Entry {
  readonly value: JsonValue;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

interface StoreFile {
  readonly host: string;
  readonly entries: Record<string, Entry>;
}

/** Per file: operations of this process on one store run one after the other. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(file) ?? Promise.resolve();
  const next = before.then(fn, fn);
  const settled = next.catch(() => undefined);
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return next;
}

export class FileHostCache implements HostCache {
  readonly #file: string;
  readonly #dir: string;

  constructor(
    cacheDir: string,
    private readonly plugin: string,
    readonly host: string,
    private readonly now: () => number = Date.now,
  ) {
    // The plugin name is safe as a directory (plugin names are checked); a host spec may not be.
    this.#dir = join(cacheDir, plugin);
    this.#file = join(this.#dir, `${createHash('sha256').update(host).digest('hex').slice(0, 32)}.json`);
  }

  /** Where the store lives (for tests and docs). */
  get file(): string {
    return this.#file;
  }

  async set(key: string, value: JsonValue, ttlMs: number = DEFAULT_CACHE_TTL_MS): Promise<void> {
    this.#checkKey(key);
    this.#checkTtl(ttlMs);
    const stored = this.#toJson(key, value);
    return serialized(this.#file, async () => {
      const entries = this.#live(await this.#read());
      entries[key] = { value: stored, expiresAt: this.now() + ttlMs };
      await this.#write(entries);
    });
  }

  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    this.#checkKey(key);
    return serialized(this.#file, async () => {
      const all = await this.#read();
      const entries = this.#live(all);
      if (Object.keys(entries).length !== Object.keys(all).length) await this.#write(entries);
      return entries[key]?.value as T | undefined;
    });
  }

  async extend(key: string, ttlMs: number): Promise<boolean> {
    this.#checkKey(key);
    this.#checkTtl(ttlMs);
    return serialized(this.#file, async () => {
      const entries = this.#live(await this.#read());
      const entry = entries[key];
      if (entry !== undefined) entries[key] = { value: entry.value, expiresAt: entry.expiresAt + ttlMs };
      await this.#write(entries);
      return entry !== undefined;
    });
  }

  async clear(key?: string): Promise<void> {
    if (key !== undefined) this.#checkKey(key);
    return serialized(this.#file, async () => {
      const entries = key === undefined ? {} : this.#live(await this.#read());
      if (key !== undefined) delete entries[key];
      await this.#write(entries);
    });
  }

  #live(entries: Record<string, Entry>): Record<string, Entry> {
    const now = this.now();
    const out: Record<string, Entry> = Object.create(null) as Record<string, Entry>;
    for (const [k, e] of Object.entries(entries)) if (e.expiresAt > now) out[k] = e;
    return out;
  }

  async #read(): Promise<Record<string, Entry>> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw environmentError(err, this.#file) ?? err;
    }
    try {
      const parsed = JSON.parse(text) as Partial<StoreFile>;
      const out: Record<string, Entry> = Object.create(null) as Record<string, Entry>;
      for (const [k, e] of Object.entries(parsed.entries ?? {})) {
        if (e && typeof e.expiresAt === 'number' && 'value' in e) out[k] = e;
      }
      return out;
    } catch {
      // A damaged cache holds nothing worth an error: it is rebuilt by the next write.
      return {};
    }
  }

  async #write(entries: Record<string, Entry>): Promise<void> {
    const doc: StoreFile = { host: this.host, entries };
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.#file, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
    } catch (err) {
      throw environmentError(err, this.#file) ?? err;
    }
  }

  #checkKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0) {
      throw new PluginError(this.plugin, 'UTIL_CACHE_INVALID', `cache key must be a non-empty string, not ${JSON.stringify(key)}`);
    }
  }

  #checkTtl(ttlMs: number): void {
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new PluginError(this.plugin, 'UTIL_CACHE_INVALID', `cache time to live must be a positive number of milliseconds, not ${String(ttlMs)}`);
    }
  }

  /** A deep copy through JSON, refusing what JSON would change silently (undefined, functions, NaN). */
  #toJson(key: string, value: JsonValue): JsonValue {
    const text = JSON.stringify(value, (_k, v: unknown) => {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) {
        throw new PluginError(this.plugin, 'UTIL_CACHE_INVALID', `cache value of "${key}" holds ${typeof v === 'number' ? String(v) : typeof v}, which JSON cannot store`, {
          hint: 'cache strings, numbers, booleans, null, and arrays or plain objects of them',
        });
      }
      return v;
    });
    return JSON.parse(text) as JsonValue;
  }
}

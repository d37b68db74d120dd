/**
 * What the start-up caches under `<instance>/cache/` share (issue 14): the key of one file, the
 * build they belong to, and reading/writing a record. A record is trusted only while its key,
 * recomputed from the files the cached answer was made from, is unchanged. Written by hand: the
 * keys are specific to what discovery reads, and the records are one small JSON file each.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

declare const __ABCTL_BUILD__: string | undefined;

/**
 * Set by scripts/build-cli.mjs, new for every build, so no build shows an answer cached by
 * another one (the help text and the discovery rules are in the code). Undefined when the CLI
 * runs from the sources (tests calling it in-process): whole answers are then not cached.
 */
export const BUILD_ID: string | undefined = typeof __ABCTL_BUILD__ === 'string' ? __ABCTL_BUILD__ : undefined;

/**
 * Inode, size, mtime and ctime of a file or directory, '-' when it cannot be read. The ctime
 * catches an edit that kept size and mtime (touch -r, tar extraction over the old file).
 */
export function fileKey(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return '-';
  }
}

/** The record in `file` when it was stored under `key`; undefined when absent, unreadable or stale. */
export function readRecord<T extends { readonly key: string }>(file: string, key: string): T | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as T;
    return record.key === key ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a record atomically (a temporary file renamed over it), best effort: a read-only or
 * full disk only loses the speed-up. Only an instance that exists gets one: a command that
 * only reads must not create ~/.abctl.
 */
export function storeRecord<T extends { readonly key: string }>(instanceRoot: string, dir: string, file: string, record: T): void {
  if (fileKey(instanceRoot) === '-') return;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/**
 * A directory as a tar stream, made in this process with the capture's header encoder
 * (services/archive/tar-header.ts), so shipping a bundle starts no local `tar`: under load
 * every program started per instance shows in the deploy time. Small on purpose: regular
 * files, directories and symlinks (what a bundle holds); anything else is an error.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../../core/errors.js';
import { encodeHeader, endOfArchive, padded } from '../archive/tar-header.js';

/**
 * The tree at `dir` stored under the name `as` (relative, e.g. `var/lib/abctl/.../web-1`):
 * the directory entry first, so that `tar --recursive-unlink -x` empties an old copy before
 * unpacking this one.
 */
export function tarDirectory(dir: string, as: string): Readable {
  return Readable.from(entries(dir, as.replace(/^\/+|\/+$/g, '')));
}

/**
 * How many bytes tarDirectory(dir, as) will make, from the headers and file sizes alone (no file
 * is read): told to the host ahead, it reads exactly the archive off a stream that goes on.
 */
export async function tarDirectorySize(dir: string, as: string): Promise<number> {
  const size = { data: 0 };
  let n = 0;
  for await (const b of entries(dir, as.replace(/^\/+|\/+$/g, ''), size)) n += b.length;
  return n + size.data;
}

/** With `sizeOnly`, file contents are counted there instead of read. */
async function* entries(dir: string, name: string, sizeOnly?: { data: number }): AsyncGenerator<Buffer> {
  yield* entry(dir, name, sizeOnly);
  yield endOfArchive();
}

async function* entry(path: string, name: string, sizeOnly?: { data: number }): AsyncGenerator<Buffer> {
  const st = await lstat(path);
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isDirectory()) {
    yield encodeHeader({ ...base, path: `${name}/`, type: 'directory', size: 0 });
    for (const child of (await readdir(path)).sort()) yield* entry(join(path, child), posix.join(name, child), sizeOnly);
  } else if (st.isSymbolicLink()) {
    yield encodeHeader({ ...base, path: name, type: 'symlink', size: 0, linkname: await readlink(path) });
  } else if (st.isFile()) {
    yield encodeHeader({ ...base, path: name, type: 'file', size: st.size });
    if (sizeOnly) {
      sizeOnly.data += padded(st.size);
      return;
    }
    let sent = 0;
    for await (const chunk of createReadStream(path)) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (sent !== st.size) {
      throw new UserError('DEPLOY_SHIP_FAILED', `${path} changed size while it was being shipped (${st.size} -> ${sent} bytes)`, { where: path, hint: 'run the command again' });
    }
    const pad = padded(st.size) - st.size;
    if (pad > 0) yield Buffer.alloc(pad);
  } else {
    throw new UserError('DEPLOY_SHIP_FAILED', `${path} is neither a file, a directory nor a symlink; a bundle holds only those`, { where: path, hint: 'write the bundle again' });
  }
}

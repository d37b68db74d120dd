/**
 * What a base check reads: a base image's files, by absolute path inside the image. Every kind
 * of base is opened by services/image (openBase: an OCI layout, an oci-archive, a root file
 * system directory); this file has the one reader of root file system directories, which
 * openBase uses for those, and the view a check takes of an opened base.
 */
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { UserError, environmentError } from '../../core/errors.js';
import type { FixStyle } from '../../core/requirements/index.js';

export interface BaseFiles {
  /** For messages: `root file system /srv/bases/bookworm`. */
  readonly description: string;
  /** A file's bytes; undefined when the base has no such file. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** How a fix command is run against this base (e.g. `chroot DIR ...`). */
  readonly fix: FixStyle;
}

/** What services/image's `openBase` gives (an OCI layout, an oci-archive or a root file system), as far as a check needs it. */
export interface OpenedBase {
  readonly kind: string;
  /** What the user gave as --base. */
  readonly source: string;
  readFile(path: string): Promise<Uint8Array | undefined>;
}

/** A base opened by the image writer, seen as the files a check reads. */
export function baseFilesOf(base: OpenedBase): BaseFiles {
  const rootfs = base.kind === 'rootfs';
  return {
    description: rootfs ? `root file system ${base.source}` : `image ${base.source}`,
    readFile: (path) => base.readFile(path),
    // An image layout is changed by rebuilding it; a directory can be changed in place.
    fix: rootfs ? (command) => `chroot ${base.source} ${command}` : (command) => `in the build of the base image (e.g. a RUN line): ${command}`,
  };
}

/** Symbolic links followed per lookup, as the kernel's own limit. */
const MAX_LINKS = 40;

/**
 * A root file system directory. Symbolic links inside it are followed as they would be in a
 * container (an absolute target starts at the directory, not at this machine's `/`), so a
 * base whose /etc/passwd is a link still reads, and no path leaves the directory.
 */
export class RootFsDir implements BaseFiles {
  readonly description: string;
  readonly fix: FixStyle;

  private constructor(readonly root: string) {
    this.description = `root file system ${root}`;
    this.fix = (command) => `chroot ${root} ${command}`;
  }

  static async open(dir: string): Promise<RootFsDir> {
    const root = resolve(dir);
    const st = await stat(root).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw environmentError(err, root) ?? err;
    });
    if (!st?.isDirectory()) {
      throw new UserError('BASE_INVALID', `base ${dir} ${st ? 'is not a directory' : 'does not exist'}`, {
        where: dir,
        hint: 'give a root file system directory (e.g. made with debootstrap --variant=minbase bookworm DIR)',
      });
    }
    return new RootFsDir(root);
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const real = await this.#resolve(path);
    if (real === undefined) return undefined;
    try {
      return await readFile(real);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw environmentError(err, real) ?? err;
    }
  }

  /** The host path of `path` inside the root, links resolved within it; undefined when a part is missing. */
  async #resolve(path: string): Promise<string | undefined> {
    let pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
    const done: string[] = [];
    for (let links = 0; pending.length > 0; ) {
      const part = pending.shift() as string;
      if (part === '..') {
        done.pop();
        continue;
      }
      if (part === '.') continue;
      const host = posix.join(this.root, ...done, part);
      const st = await lstat(host).catch(() => undefined);
      if (!st) return undefined;
      if (!st.isSymbolicLink()) {
        done.push(part);
        continue;
      }
      if (++links > MAX_LINKS) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
    }
    return posix.join(this.root, ...done);
  }
}

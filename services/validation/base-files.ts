/**
 * What a base check reads: a base image's files, by absolute path inside the image. The image
 * writer opens every kind of base (services/image/base.ts openBase: an OCI layout, an
 * oci-archive, a root file system directory) and reads its files as a container would see
 * them; this is how a check sees such a base.
 */
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

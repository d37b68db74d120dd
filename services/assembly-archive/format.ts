/**
 * The assembly archive (docs/assembly-archive.md): one tar holding an OCI image layout (one
 * index, a manifest per appliance, blobs stored once), the assembly's catalog directory as the
 * catalog keeps it, and optionally its Kubernetes manifests, described by `abctl-assembly.json`.
 */
import { copyFile, link, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export const ARCHIVE_MANIFEST = 'abctl-assembly.json';
export const ARCHIVE_FORMAT = 1;
/** Where things live inside the archive. */
export const CATALOG_PREFIX = 'catalog';
export const KUBERNETES_PREFIX = 'kubernetes';
/** Annotation naming the appliance (its path in the assembly) of each manifest in the index. */
export const APPLIANCE_ANNOTATION = 'io.abctl.appliance';

export interface ArchiveImage {
  /** The appliance's path in the assembly. */
  readonly appliance: string;
  /** `abctl/<name>` */
  readonly repository: string;
  readonly tag: string;
  readonly manifestDigest: string;
}

export interface ArchiveManifest {
  readonly format: number;
  readonly assembly: string;
  readonly images: readonly ArchiveImage[];
  /** Every file of the catalog directory (relative to it) -> sha256 hex. */
  readonly catalogFiles: Readonly<Record<string, string>>;
  /** How many password values the documents hold (encrypted with the exporting instance's key). */
  readonly passwords: number;
  /** Kubernetes files shipped (none when no plan was given). Secrets are never shipped. */
  readonly kubernetes: readonly string[];
}

export { sha256OfFile as sha256File } from '../image/oci.js';

/** A hard link (no extra space) where possible, else a copy. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await link(from, to).catch(() => copyFile(from, to));
}

/** Files (not directories) under `dir`, relative, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Encrypted password values as the catalog stores them (catalog/secrets.ts). */
export const SECRET_VALUE = /enc:v1:[A-Za-z0-9+/]+=*/g;

/**
 * `importAssembly`: unpacks an assembly archive into the instance's tmp dir, checks it (every
 * entry inside its root and a plain file or directory, every blob and catalog file against its
 * digest, the documents readable as a catalog of their own), re-encrypts password values with this
 * instance's key, then moves the assembly directory into the catalog in one commit. The images are
 * written as one layout per appliance (as createTemplate does) under the import directory, with the
 * Kubernetes manifests beside them. Any failure before the commit leaves the catalog untouched.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { environmentError, UserError } from '../../core/errors.js';
import { Assembly } from '../../core/metadata/index.js';
import { Catalog } from '../../catalog/index.js';
import { topDir } from '../../catalog/format.js';
import { SecretBox } from '../../catalog/secrets.js';
import { imageName } from '../image/names.js';
import { digestHex, INDEX_FILE, MEDIA_TYPES, OCI_LAYOUT_FILE, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest } from '../image/oci.js';
import { APPLIANCE_ANNOTATION, ARCHIVE_FORMAT, ARCHIVE_MANIFEST, CATALOG_PREFIX, filesUnder, KUBERNETES_PREFIX, linkOrCopy, SECRET_VALUE, sha256File, type ArchiveImage, type ArchiveManifest } from './format.js';

const run = promisify(execFile);

export interface ImportAssemblyRequest {
  readonly catalog: Catalog;
  /** The instance's tmp dir: on the catalog's file system, so files are moved in, not copied. */
  readonly tmpDir: string;
  readonly file: string;
  /** Import under this name instead of the archive's. */
  readonly as?: string;
  /** The exporting instance's catalog.key, to decrypt the archive's password values. */
  readonly keyFile?: string;
  /** Where the images and Kubernetes manifests go (default: `<importsDir>/<assembly name>`). */
  readonly out?: string;
  readonly importsDir: string;
  readonly signal?: AbortSignal;
}

export interface ImportAssemblyResult {
  readonly assembly: string;
  readonly from: string;
  readonly images: readonly (ArchiveImage & { readonly dir: string })[];
  readonly imagesDir: string;
  readonly kubernetesDir?: string;
  readonly passwords: number;
  readonly catalogFiles: number;
}

const invalid = (file: string, what: string, hint = 'export the assembly again with abctl exportAssembly'): UserError =>
  new UserError('ARCHIVE_FILE_INVALID', `not a usable assembly archive: ${what}`, { where: file, hint });

/** Names in the tar: relative, no `..`, nothing but what an assembly archive holds. */
function checkEntryName(file: string, name: string): void {
  const parts = name.replace(/\/+$/, '').split('/');
  if (isAbsolute(name) || parts.some((p) => p === '..')) {
    throw new UserError('ARCHIVE_ENTRY_UNSAFE', `the archive holds an entry outside its root: "${name}"`, { where: file, hint: 'this file was not written by abctl exportAssembly; do not import it' });
  }
}

async function unpack(file: string, into: string, signal: AbortSignal | undefined): Promise<void> {
  let listing: string;
  try {
    listing = (await run('tar', ['-tf', file], { maxBuffer: 64 * 1024 * 1024, ...(signal ? { signal } : {}) })).stdout;
  } catch (err) {
    throw invalid(file, `tar cannot read it (${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()})`);
  }
  for (const name of listing.split('\n').filter(Boolean)) checkEntryName(file, name);
  await run('tar', ['-xf', file, '-C', into, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'], { maxBuffer: 16 * 1024 * 1024, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
    throw environmentError(err, into) ?? invalid(file, `tar cannot unpack it (${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()})`);
  });
  // Links and devices have no place in an archive abctl writes; a link could point outside.
  for (const e of await readdir(into, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() && !e.isDirectory()) {
      throw new UserError('ARCHIVE_ENTRY_UNSAFE', `the archive holds "${join(e.parentPath, e.name).slice(into.length + 1)}", which is neither a file nor a directory`, { where: file, hint: 'this file was not written by abctl exportAssembly; do not import it' });
    }
  }
}

async function readJson<T>(file: string, path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw invalid(file, `${path.split('/').slice(-1)[0]} cannot be read (${(err as Error).message})`);
  }
}

/** Every blob hashes to its name, and every descriptor the index reaches points to a blob of its size. */
async function checkBlobs(file: string, root: string): Promise<void> {
  const blobs = join(root, 'blobs', 'sha256');
  for (const hex of await filesUnder(blobs)) {
    const got = await sha256File(join(blobs, hex));
    if (got !== hex) throw new UserError('ARCHIVE_DIGEST_MISMATCH', `blob ${hex} has the digest sha256:${got}`, { where: file, hint: 'the archive was damaged in transfer; copy it again' });
  }
  const has = async (d: Descriptor, what: string): Promise<string> => {
    const hex = digestHex(d.digest);
    const path = hex === undefined ? undefined : join(blobs, hex);
    const info = path === undefined ? undefined : await lstat(path).catch(() => undefined);
    if (path === undefined || !info) throw new UserError('ARCHIVE_DIGEST_MISMATCH', `${what} ${d.digest} is missing from the archive`, { where: file, hint: 'the archive is incomplete; export it again' });
    if (info.size !== d.size) throw new UserError('ARCHIVE_DIGEST_MISMATCH', `${what} ${d.digest} has ${info.size} bytes, its descriptor says ${d.size}`, { where: file, hint: 'the archive was damaged; export it again' });
    return path;
  };
  const index = await readJson<ImageIndex>(file, join(root, INDEX_FILE));
  for (const m of index.manifests ?? []) {
    const manifest = await readJson<ImageManifest>(file, await has(m, 'manifest'));
    await has(manifest.config, 'image config');
    for (const l of manifest.layers) await has(l, 'layer');
  }
}

/** Password values re-encrypted from the exporting instance's key to this one's (GCM refuses a wrong key). */
async function reencrypt(file: string, dir: string, req: ImportAssemblyRequest, count: number): Promise<void> {
  if (count === 0) return;
  if (req.keyFile === undefined) {
    throw new UserError('ARCHIVE_KEY_MISSING', `the archive holds ${count} password value(s), encrypted with the exporting instance's key`, {
      where: file,
      hint: 'give that key with --key FILE (a copy of <exporting instance>/config/catalog.key, carried separately from the archive)',
    });
  }
  const from = await SecretBox.load(resolve(req.keyFile), false);
  if (!from) throw new UserError('ARCHIVE_KEY_MISSING', 'the key file does not exist', { where: resolve(req.keyFile), hint: 'give a copy of the exporting instance\'s config/catalog.key' });
  const to = (await SecretBox.load(req.catalog.keyFile, true)) as SecretBox;
  for (const f of (await filesUnder(dir)).filter((x) => x.endsWith('.xml'))) {
    const path = join(dir, f);
    const text = await readFile(path, 'utf8');
    if (!SECRET_VALUE.test(text)) continue;
    SECRET_VALUE.lastIndex = 0;
    await writeFile(path, text.replace(SECRET_VALUE, (v) => to.encrypt(from.decrypt(v, `${file}: ${f}`))));
  }
}

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `--as`: the root element's name attribute is the only place the top-level name is stored. */
async function rename_(file: string, doc: string, from: string, to: string): Promise<void> {
  const text = await readFile(doc, 'utf8');
  const attr = ` name="${xmlAttr(from)}"`;
  const at = text.indexOf(attr, text.indexOf('<assembly'));
  if (at < 0) throw invalid(file, 'the assembly document does not name the assembly');
  await writeFile(doc, `${text.slice(0, at)} name="${xmlAttr(to)}"${text.slice(at + attr.length)}`);
}

/** One layout per appliance, as createTemplate writes them, so exportKubernetes --images and podman pull oci: work on them. */
async function writeLayouts(file: string, root: string, outDir: string, manifest: ArchiveManifest): Promise<(ArchiveImage & { dir: string })[]> {
  const index = await readJson<ImageIndex>(file, join(root, INDEX_FILE));
  const out: (ArchiveImage & { dir: string })[] = [];
  for (const img of manifest.images) {
    const entry = index.manifests.find((m) => m.annotations?.[APPLIANCE_ANNOTATION] === img.appliance);
    if (!entry || entry.digest !== img.manifestDigest) throw invalid(file, `the image index has no manifest ${img.manifestDigest} for appliance "${img.appliance}"`);
    const dir = join(outDir, imageName(img.appliance));
    const m = await readJson<ImageManifest>(file, join(root, 'blobs', 'sha256', digestHex(entry.digest) as string));
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    for (const d of [entry, m.config, ...m.layers]) {
      const hex = digestHex(d.digest) as string;
      await linkOrCopy(join(root, 'blobs', 'sha256', hex), join(dir, 'blobs', 'sha256', hex));
    }
    const { annotations: _ignored, ...plain } = entry;
    await writeFile(join(dir, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(dir, INDEX_FILE), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [{ ...plain, annotations: { [REF_NAME_ANNOTATION]: img.tag } }] }));
    out.push({ ...img, dir });
  }
  return out;
}

async function syncFiles(dir: string): Promise<void> {
  for (const f of await filesUnder(dir)) {
    const fh = await open(join(dir, f), 'r');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}

/** Replaces the import directory's images (and manifests) with the new ones. */
async function placeOutputs(ready: string, imagesDir: string, kubernetes: { from: string; to: string } | undefined): Promise<void> {
  try {
    await mkdir(dirname(imagesDir), { recursive: true });
    await rm(imagesDir, { recursive: true, force: true });
    await rename(join(ready, 'images'), imagesDir);
    if (kubernetes) {
      await rm(kubernetes.to, { recursive: true, force: true });
      await rename(kubernetes.from, kubernetes.to);
    }
  } catch (err) {
    throw environmentError(err, dirname(imagesDir)) ?? err;
  }
}

export async function importAssembly(req: ImportAssemblyRequest): Promise<ImportAssemblyResult> {
  const file = resolve(req.file);
  if (!(await lstat(file).then((s) => s.isFile()).catch(() => false))) throw new UserError('ARCHIVE_FILE_INVALID', 'there is no archive file here', { where: file, hint: 'give the file abctl exportAssembly wrote' });
  await mkdir(req.tmpDir, { recursive: true }).catch((err: unknown) => {
    throw environmentError(err, req.tmpDir) ?? err;
  });
  const work = await mkdtemp(join(req.tmpDir, 'import-'));
  try {
    await unpack(file, work, req.signal);
    const manifest = await readJson<ArchiveManifest>(file, join(work, ARCHIVE_MANIFEST));
    if (manifest.format !== ARCHIVE_FORMAT || typeof manifest.assembly !== 'string' || !Array.isArray(manifest.images)) {
      throw invalid(file, `${ARCHIVE_MANIFEST} is of format ${String(manifest.format)}, this abctl reads format ${ARCHIVE_FORMAT}`, 'use the abctl version that exported it, or a newer one');
    }
    const name = req.as ?? manifest.assembly;
    // Checked again under the lock when the files move in; here to fail before any work.
    for (const [kind, has] of [['appliance', await req.catalog.hasAppliance(name)], ['assembly', await req.catalog.hasAssembly(name)]] as const) {
      if (has) throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an ${kind} named "${name}"`, { where: file, hint: 'import under another name with --as NAME, or delete the existing one first' });
    }

    // Catalog files: exactly those listed, each with its digest.
    const catalogDir = join(work, CATALOG_PREFIX);
    const found = await filesUnder(catalogDir).catch(() => []);
    const listed = Object.keys(manifest.catalogFiles).sort();
    const srcRel = topDir('assembly', manifest.assembly);
    if (found.join('\n') !== listed.join('\n') || listed.some((f) => !f.startsWith(`${srcRel}/`))) {
      throw invalid(file, `its catalog files differ from those ${ARCHIVE_MANIFEST} lists`);
    }
    for (const f of listed) {
      const got = await sha256File(join(catalogDir, f));
      if (got !== manifest.catalogFiles[f]) throw new UserError('ARCHIVE_DIGEST_MISMATCH', `catalog file ${f} has the digest sha256:${got}, the archive lists sha256:${String(manifest.catalogFiles[f])}`, { where: file, hint: 'the archive was damaged in transfer; copy it again' });
    }
    await checkBlobs(file, work);

    // Into this instance: renamed if asked, passwords under this instance's key.
    const staged = join(work, 'stage', 'catalog');
    const stagedRel = topDir('assembly', name);
    await mkdir(dirname(join(staged, stagedRel)), { recursive: true });
    await rename(join(catalogDir, srcRel), join(staged, stagedRel));
    if (name !== manifest.assembly) await rename_(file, join(staged, stagedRel, 'assembly.xml'), manifest.assembly, name);
    await reencrypt(file, join(staged, stagedRel), req, manifest.passwords);

    // The staged directory must read as a catalog of its own, archives matching their records.
    const check = new Catalog({ root: join(work, 'stage'), catalogDir: staged, configDir: dirname(req.catalog.keyFile) });
    const assembly = await check.getAssembly(name);
    if (!(assembly instanceof Assembly) || assembly.name !== name) throw invalid(file, `its catalog does not hold assembly "${name}"`);
    const verification = await check.verify();
    if (verification.problems.length > 0) {
      throw invalid(file, `its catalog has problems:\n${verification.problems.map((p) => `  ${p.file}: ${p.message}`).join('\n')}`);
    }

    // Images and manifests are made ready in the work dir and put in place after the commit.
    const ready = join(work, 'out');
    const outDir = resolve(req.out ?? join(req.importsDir, name));
    const imagesDir = join(outDir, 'images');
    const images = (await writeLayouts(file, work, join(ready, 'images'), manifest)).map((i) => ({ ...i, dir: join(imagesDir, imageName(i.appliance)) }));
    // The catalog's commit syncs the files it writes itself; these were written by tar.
    await syncFiles(join(staged, stagedRel));
    await req.catalog.adoptAssemblyDir(name, join(staged, stagedRel));
    const kubernetesDir = manifest.kubernetes.length > 0 ? join(outDir, KUBERNETES_PREFIX) : undefined;
    await placeOutputs(ready, imagesDir, kubernetesDir ? { from: join(work, KUBERNETES_PREFIX), to: kubernetesDir } : undefined);
    return { assembly: name, from: file, images, imagesDir, ...(kubernetesDir ? { kubernetesDir } : {}), passwords: manifest.passwords, catalogFiles: listed.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

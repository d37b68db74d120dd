/**
 * `exportAssembly`: every appliance of an assembly written as an image (createTemplate), the
 * images merged into one OCI layout (blobs are content-addressed, so a layer two appliances share
 * is stored once), the assembly's catalog directory copied as the catalog holds it (passwords stay
 * encrypted) and, with a plan, the Kubernetes manifests without their Secrets; all packed into
 * one tar with GNU tar (sorted, owner 0, fixed mtimes). Written beside FILE and renamed into place.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { environmentError, UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly } from '../../core/metadata/index.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import type { Catalog } from '../../catalog/index.js';
import { topDir } from '../../catalog/format.js';
import { catalogOwner } from '../rehydration/bundle.js';
import { checkRecordedChains, madeAppliance } from '../rehydration/recorded-chain.js';
import { createTemplates, type CreateTemplateRequest, type ImageProgress } from '../image/image-writer.js';
import { openBase } from '../image/base.js';
import { INDEX_FILE, MEDIA_TYPES, OCI_LAYOUT_FILE, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from '../image/oci.js';
import { APPLIANCE_ANNOTATION, ARCHIVE_FORMAT, ARCHIVE_MANIFEST, CATALOG_PREFIX, filesUnder, KUBERNETES_PREFIX, linkOrCopy, SECRET_VALUE, sha256File, type ArchiveImage, type ArchiveManifest } from './format.js';

const run = promisify(execFile);

export interface ExportAssemblyRequest {
  readonly catalog: Catalog;
  readonly inventory: PluginInventory;
  readonly assembly: string;
  readonly base: string;
  readonly out: string;
  readonly node?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ImageProgress) => void;
  readonly check?: CreateTemplateRequest['check'];
  /** Each warning as soon as it is known (also in the result). */
  readonly onWarning?: CreateTemplateRequest['onWarning'];
  /** Writes the Kubernetes manifests into `dir` given the images' layout directory (exportKubernetes --images). */
  readonly kubernetes?: (dir: string, imagesDir: string) => Promise<void>;
}

export interface ExportAssemblyResult {
  readonly file: string;
  readonly size: number;
  readonly assembly: string;
  readonly images: readonly ArchiveImage[];
  /** Distinct blobs in the archive, and how many image references to blobs they serve. */
  readonly blobs: number;
  readonly blobReferences: number;
  readonly passwords: number;
  readonly kubernetes: readonly string[];
  /** The recorded-chain check's warnings: extensions the appliances were made with, disabled here or older. */
  readonly warnings: readonly string[];
}

/** Every appliance stored in the assembly, with its member path (inside atomic assemblies too). */
function appliancesIn(assembly: Assembly | AtomicAssembly, prefix = ''): { path: string; appliance: Appliance }[] {
  const members = assembly instanceof AtomicAssembly ? assembly.appliances : assembly.members;
  return members.flatMap((m) => (m instanceof Appliance ? [{ path: `${prefix}${m.name}`, appliance: m }] : m instanceof AtomicAssembly || m instanceof Assembly ? appliancesIn(m, `${prefix}${m.name}/`) : []));
}

/**
 * Content resources stay with the catalog appliance a member was copied from (see catalogOwner
 * in services/rehydration/bundle.ts); the archive puts them into the member's own directory,
 * where the bundle writer looks first, so the imported assembly needs nothing else.
 */
async function memberContent(catalog: Catalog, assembly: Assembly): Promise<{ rel: string; file: string }[]> {
  const out: { rel: string; file: string }[] = [];
  for (const { path, appliance } of appliancesIn(assembly)) {
    if (appliance.contentResources.length === 0) continue;
    const owner = (await catalogOwner({ catalog, assembly }, appliance, path, undefined)).content;
    for (const r of appliance.contentResources) {
      const target = await catalog.contentPath(`${assembly.name}/${path}`, r.name);
      out.push({ rel: relative(catalog.dir, target), file: await catalog.contentPath(owner, r.name) });
    }
  }
  return out;
}

/** Member paths to image: appliances and atomic assemblies, through sub-assemblies. */
function imagedMembers(assembly: Assembly, prefix = ''): string[] {
  const out: string[] = [];
  for (const m of assembly.members) {
    const path = `${prefix}${m.name}`;
    if (m instanceof Appliance || m instanceof AtomicAssembly) out.push(path);
    else if (m instanceof Assembly) out.push(...imagedMembers(m, `${path}/`));
  }
  return out;
}

export async function exportAssembly(req: ExportAssemblyRequest): Promise<ExportAssemblyResult> {
  const assembly = await req.catalog.getAssembly(req.assembly);
  if (!(assembly instanceof Assembly)) {
    throw new UserError('IMAGE_APPLIANCE_INVALID', `"${req.assembly}" is an atomic assembly; archives are made of the assembly holding it`, { hint: 'add it to an assembly (abctl addToAssembly) and export that one' });
  }
  // Every appliance's recorded chain at once, before anything is written: one warning per extension, a missing one refuses.
  const warnings = checkRecordedChains(req.inventory, appliancesIn(assembly).map((a) => madeAppliance(a.path, a.appliance)), `assembly "${assembly.name}"`, 'export again');
  for (const w of warnings) req.onWarning?.(w);
  const out = resolve(req.out);
  await mkdir(dirname(out), { recursive: true }).catch((err: unknown) => {
    throw environmentError(err, dirname(out)) ?? err;
  });
  const work = await mkdtemp(join(tmpdir(), 'abctl-export-'));
  try {
    // 1. The images, each its own layout first (createTemplate), then merged.
    const imagesDir = join(work, 'images');
    const written = [];
    // One base for every image: a root file system is packed once, not once per appliance.
    const openedBase = await openBase(req.base, { workDir: work });
    try {
    for (const member of imagedMembers(assembly)) {
      written.push(
        ...(await createTemplates({
          catalog: req.catalog,
          inventory: req.inventory,
          appliance: member,
          assembly: assembly.name,
          base: req.base,
          openedBase,
          outDir: imagesDir,
          ...(req.node !== undefined ? { node: req.node } : {}),
          ...(req.signal ? { signal: req.signal } : {}),
          ...(req.onProgress ? { onProgress: req.onProgress } : {}),
          ...(req.check ? { check: req.check } : {}),
        })),
      );
    }
    } finally {
      await openedBase.close();
    }
    const pack = join(work, 'pack');
    const blobs = join(pack, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const manifests: Descriptor[] = [];
    let blobReferences = 0;
    const seen = new Set<string>();
    for (const img of written) {
      const index = JSON.parse(await readFile(join(img.dir, INDEX_FILE), 'utf8')) as ImageIndex;
      for (const hex of await filesUnder(join(img.dir, 'blobs', 'sha256'))) {
        blobReferences += 1;
        if (seen.has(hex)) continue;
        seen.add(hex);
        await linkOrCopy(join(img.dir, 'blobs', 'sha256', hex), join(blobs, hex));
      }
      for (const m of index.manifests) {
        manifests.push({ ...m, annotations: { ...m.annotations, [REF_NAME_ANNOTATION]: `${img.repository}:${img.tag}`, [APPLIANCE_ANNOTATION]: img.appliance } });
      }
    }
    await writeFile(join(pack, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(pack, INDEX_FILE), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }));

    // 2. The catalog directory of the assembly, as stored (members are copies: it is self-contained).
    const catalogFiles: Record<string, string> = {};
    const rel = topDir('assembly', assembly.name);
    const from = join(req.catalog.dir, rel);
    let passwords = 0;
    for (const f of await filesUnder(from)) {
      const target = join(pack, CATALOG_PREFIX, rel, f);
      await linkOrCopy(join(from, f), target);
      catalogFiles[`${rel}/${f}`] = await sha256File(target);
      if (f.endsWith('.xml')) passwords += ((await readFile(target, 'utf8')).match(SECRET_VALUE) ?? []).length;
    }

    for (const c of await memberContent(req.catalog, assembly)) {
      if (catalogFiles[c.rel] !== undefined) continue;
      const target = join(pack, CATALOG_PREFIX, c.rel);
      await linkOrCopy(c.file, target);
      catalogFiles[c.rel] = await sha256File(target);
    }

    // 3. The Kubernetes manifests, without the Secret objects (password values in clear).
    const kubernetes: string[] = [];
    if (req.kubernetes) {
      const k8s = join(work, 'kubernetes');
      await req.kubernetes(k8s, imagesDir);
      for (const f of await filesUnder(k8s)) {
        const text = await readFile(join(k8s, f), 'utf8');
        if (/^kind: Secret$/m.test(text)) continue;
        // The kustomization lists the Secret files too; they are made again after import.
        const kept = f === 'kustomization.yaml' ? text.replace(/^\s*- secret-.*\.yaml\n/gm, '').replace(/^\s*- secrets\.yaml\n/gm, '') : text;
        await mkdir(join(pack, KUBERNETES_PREFIX), { recursive: true });
        await writeFile(join(pack, KUBERNETES_PREFIX, f), kept);
        kubernetes.push(f);
      }
    }

    const images: ArchiveImage[] = written.map((i) => ({ appliance: i.appliance, repository: i.repository, tag: i.tag, manifestDigest: i.manifestDigest }));
    const manifest: ArchiveManifest = { format: ARCHIVE_FORMAT, assembly: assembly.name, images, catalogFiles, passwords, kubernetes };
    await writeFile(join(pack, ARCHIVE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

    // GNU tar: the manifest first (a reader can stop there), then everything in name order.
    const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
    try {
      await run('tar', ['-cf', partial, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=posix', '--pax-option=delete=atime,delete=ctime', '-C', pack, ARCHIVE_MANIFEST, OCI_LAYOUT_FILE, INDEX_FILE, 'blobs', CATALOG_PREFIX, ...(kubernetes.length ? [KUBERNETES_PREFIX] : [])], {
        maxBuffer: 16 * 1024 * 1024,
        ...(req.signal ? { signal: req.signal } : {}),
      });
      await rename(partial, out);
    } catch (err) {
      await rm(partial, { force: true });
      throw environmentError(err, out) ?? new UserError('ARCHIVE_FILE_INVALID', `the archive could not be written: ${(err as Error).message}`, { where: out, hint: 'check the disk space and that GNU tar is installed' });
    }
    const { size } = await stat(out);
    return { file: out, size, assembly: assembly.name, images, blobs: seen.size, blobReferences, passwords, kubernetes, warnings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

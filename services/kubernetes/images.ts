/**
 * Image references for the manifests: the exact tags createTemplate wrote (`--images DIR`,
 * `DIR/<appliance>/index.json`), or a prefix and tag the user names when the images live in
 * a registry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { IMAGE_REPOSITORY_PREFIX, imageLayoutDir, imageName } from '../image/names.js';
import { REF_NAME_ANNOTATION } from '../image/oci.js';
import type { ApplianceSlot } from '../deploy/topology.js';

export interface ImageOptions {
  /** Where createTemplate wrote the images: one OCI image layout per appliance, `DIR/<image name>/` (services/image/names.ts). */
  readonly imagesDir?: string;
  /** Repository prefix (default `abctl`): `registry.example.com/shop` gives `registry.example.com/shop/<appliance>:<tag>`. */
  readonly prefix?: string;
  /** Tag of every image; overrides the tags found in `imagesDir`. */
  readonly tag?: string;
}

interface OciIndex {
  readonly manifests?: readonly { readonly annotations?: Readonly<Record<string, string>> }[];
}

/** The tag in an image layout's index.json, or undefined when there is no layout there. */
async function layoutTag(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch {
    return undefined;
  }
  let index: OciIndex;
  try {
    index = JSON.parse(text) as OciIndex;
  } catch (err) {
    throw new UserError('K8S_IMAGE_UNKNOWN', `index.json is not valid JSON (${(err as Error).message})`, { where: join(dir, 'index.json'), hint: 'write the image again with abctl createTemplate' });
  }
  const ref = index.manifests?.find((m) => m.annotations?.[REF_NAME_ANNOTATION])?.annotations?.[REF_NAME_ANNOTATION];
  if (ref === undefined) {
    throw new UserError('K8S_IMAGE_UNKNOWN', `index.json names no image (no ${REF_NAME_ANNOTATION} annotation)`, { where: join(dir, 'index.json'), hint: 'write the image again with abctl createTemplate' });
  }
  // The annotation is a tag; tolerate a whole reference (`repo:tag`) too.
  return ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : ref;
}

/** Resolves every appliance's image up front, so a missing one is reported before anything is written. */
export async function resolveImages(assemblyName: string, slots: readonly ApplianceSlot[], opts: ImageOptions): Promise<Map<string, string>> {
  if (opts.imagesDir === undefined && opts.tag === undefined) {
    throw new UserError('K8S_IMAGE_UNKNOWN', 'the manifests need image references: give --images DIR (where abctl createTemplate wrote the images) or --image-tag TAG', {
      hint: 'e.g. --images ./images, or --image-prefix registry.example.com/shop --image-tag 1.0',
    });
  }
  const prefix = (opts.prefix ?? IMAGE_REPOSITORY_PREFIX).replace(/\/+$/, '');
  const out = new Map<string, string>();
  for (const slot of slots) {
    let tag = opts.tag;
    // createTemplate names a member's image after its path in the assembly (tier/web -> tier-web).
    let name = imageName(slot.key);
    if (tag === undefined && opts.imagesDir !== undefined) {
      // A top-level appliance's own image (createTemplate without --assembly) serves a member of the same name too.
      for (const candidate of [...new Set([slot.key, slot.appliance.name])]) {
        tag = await layoutTag(imageLayoutDir(opts.imagesDir, candidate));
        if (tag !== undefined) {
          name = imageName(candidate);
          break;
        }
      }
      if (tag === undefined) {
        throw new UserError('K8S_IMAGE_UNKNOWN', `there is no image of appliance "${slot.key}" in ${opts.imagesDir} (looked for ${join(imageLayoutDir(opts.imagesDir, slot.key), 'index.json')})`, {
          where: `appliance "${slot.key}"`,
          hint: `write it with abctl createTemplate --assembly ${assemblyName} --appliance ${slot.key} --base BASE --out ${opts.imagesDir}, or give --image-tag TAG for images in a registry`,
        });
      }
    }
    out.set(slot.key, `${prefix}/${name}:${tag as string}`);
  }
  return out;
}

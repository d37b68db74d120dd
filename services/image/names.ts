/**
 * How appliance images are named, shared with the Kubernetes export: image `abctl/<name>`,
 * written to `<out>/<name>/`, tagged with the first 12 hex digits of its manifest digest. `<name>`
 * is the appliance's path in its assembly, lower-cased, `/` and anything an image name may not
 * hold turned into `-` (`tier/Web` -> `tier-web`).
 */
import { join } from 'node:path';

export const IMAGE_REPOSITORY_PREFIX = 'abctl/';
/** Where podman puts an image loaded from a layout: `localhost/abctl/<name>:<tag>`. */
export const LOCAL_REGISTRY = 'localhost';

export function imageName(appliancePath: string): string {
  const name = appliancePath
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name === '' ? 'appliance' : name;
}

export function imageRepository(appliancePath: string): string {
  return `${IMAGE_REPOSITORY_PREFIX}${imageName(appliancePath)}`;
}

export function imageLayoutDir(outDir: string, appliancePath: string): string {
  return join(outDir, imageName(appliancePath));
}

export function imageTag(manifestDigest: string): string {
  return manifestDigest.replace(/^sha256:/, '').slice(0, 12);
}

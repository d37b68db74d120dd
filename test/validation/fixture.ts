/**
 * Shared pieces of the requirement tests: a small Debian-like root file system written as real
 * files (passwd, group, dpkg status, os-release through a symlink as on Debian), and plugins
 * whose requirements and own check come from JSON files beside them, read when abctl asks, so
 * one installed plugin can play every case.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { writePlugin } from '../helpers/plugins.js';

export interface RootFsSpec {
  readonly users?: readonly string[];
  readonly groups?: readonly string[];
  /** name -> version (installed), or [version, dpkg state word]. */
  readonly packages?: Readonly<Record<string, string | readonly [string, string]>>;
}

export function statusFile(packages: RootFsSpec['packages'] = {}): string {
  return Object.entries(packages)
    .map(([name, v]) => {
      const [version, state] = typeof v === 'string' ? [v, 'installed'] : v;
      return [`Package: ${name}`, `Status: install ok ${state}`, 'Priority: optional', `Version: ${version}`, 'Description: test package', ' long text that dpkg keeps indented', ''].join('\n');
    })
    .join('\n');
}

export async function makeRootFs(dir: string, spec: RootFsSpec): Promise<string> {
  await mkdir(join(dir, 'etc'), { recursive: true });
  await mkdir(join(dir, 'usr/lib'), { recursive: true });
  await mkdir(join(dir, 'var/lib/dpkg'), { recursive: true });
  const users = spec.users ?? ['root'];
  const groups = spec.groups ?? ['root'];
  await writeFile(join(dir, 'etc/passwd'), users.map((u, i) => `${u}:x:${i}:${i}:${u}:/home/${u}:/bin/sh\n`).join(''));
  await writeFile(join(dir, 'etc/group'), groups.map((g, i) => `${g}:x:${i}:\n`).join(''));
  await writeFile(join(dir, 'var/lib/dpkg/status'), statusFile(spec.packages));
  await writeFile(join(dir, 'usr/lib/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n');
  await symlink('../usr/lib/os-release', join(dir, 'etc/os-release'));
  return dir;
}

/** What a plugin's `validateBase` does, from check.json: return messages, throw, or return nonsense. */
export type CheckMode = { readonly mode: 'messages'; readonly messages: readonly { severity: string; message: string }[] } | { readonly mode: 'throw'; readonly message: string } | { readonly mode: 'nonsense' };

/**
 * A plugin (or extension) registering an introspector that makes one appliance `app` (no file
 * sets unless `fileSet` is given) and a BaseImageValidationPlugin reading requirements.json
 * and check.json from its directory.
 */
export async function writeRequirementsPlugin(dir: string, name: string, opts: { parentName?: string; fileSet?: { root: string; owner: string; group: string } } = {}): Promise<string> {
  const isExt = opts.parentName !== undefined;
  const service = { name, ...(isExt ? { parentName: opts.parentName } : {}) };
  const dehydrate = isExt
    ? ''
    : `ctx.createAppliance({ name: 'app', fileSets: ${JSON.stringify(opts.fileSet ? [{ name: 'home', ...opts.fileSet }] : [])} });`;
  const index = `import { readFileSync, existsSync } from 'node:fs';
const here = new URL('.', import.meta.url).pathname;
const json = (f, d) => (existsSync(here + f) ? JSON.parse(readFileSync(here + f, 'utf8')) : d);
const service = { ...${JSON.stringify(service)}, jobParameters() { return []; }, async dehydrate(ctx) { ${dehydrate} } };
const requirements = {
  pluginName: ${JSON.stringify(name)},
  baseImageRequirements() { return json('requirements.json', []); },
  async validateBase(base) {
    const c = json('check.json', { mode: 'messages', messages: [] });
    if (c.mode === 'throw') throw new Error(c.message);
    if (c.mode === 'nonsense') return 'fine';
    return c.messages.map((m) => ({ ...m, message: m.message.replace('{kind}', base.kind).replace('{os}', String(base.readFile ? 'readable' : '')) }));
  },
};
export const activator = { start(context) {
  context.registerService(context.ids.${isExt ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin'}, service);
  context.registerService(context.ids.BaseImageValidationPlugin, requirements);
} };
`;
  return writePlugin(dir, { name, ...(isExt ? { parentName: opts.parentName as string } : {}), index });
}

export async function setRequirements(pluginDir: string, requirements: readonly unknown[] | unknown, check?: CheckMode): Promise<void> {
  await writeFile(join(pluginDir, 'requirements.json'), JSON.stringify(requirements));
  await writeFile(join(pluginDir, 'check.json'), JSON.stringify(check ?? { mode: 'messages', messages: [] }));
}

/**
 * An OCI image layout of `layers` (root file system directories, lowest first), each packed
 * with GNU tar and gzip as a registry image's layers are, with `ref` as its one image's name.
 */
export async function makeLayout(out: string, layers: readonly string[], ref = 'base'): Promise<string> {
  const blobs = join(out, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layerDescriptors = [];
  const diffIds = [];
  for (const dir of layers) {
    const tar = execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 256 * 1024 * 1024 });
    diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await put(gzipSync(tar))) });
  }
  const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const manifest = await put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescriptors })));
  await writeFile(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  return out;
}

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PluginSpec {
  name: string;
  version?: string;
  parentName?: string;
  minParentVersion?: string;
  minSdkVersion?: string;
  /** Extra plugin.config lines. */
  extra?: string;
  /** index.js body; default registers an IntrospectorPlugin (or Extension) named after the plugin. */
  index?: string;
}

export function defaultIndex(spec: PluginSpec): string {
  const service = spec.parentName
    ? `{ name: ${JSON.stringify(spec.name)}, parentName: ${JSON.stringify(spec.parentName)} }`
    : `{ name: ${JSON.stringify(spec.name)} }`;
  const id = spec.parentName ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin';
  return `export const activator = { start(ctx) { ctx.registerService(ctx.ids.${id}, ${service}); } };\n`;
}

/** Writes `<dir>/<name>/plugin.config` and `index.js`; returns the plugin directory. */
export async function writePlugin(dir: string, spec: PluginSpec): Promise<string> {
  const pluginDir = join(dir, spec.name);
  await mkdir(pluginDir, { recursive: true });
  const lines = [`name=${spec.name}`, `version=${spec.version ?? '1.0'}`, `description=test plugin ${spec.name}`];
  if (spec.parentName) lines.push(`parentName=${spec.parentName}`);
  if (spec.minParentVersion) lines.push(`minParentVersion=${spec.minParentVersion}`);
  if (spec.minSdkVersion) lines.push(`minSdkVersion=${spec.minSdkVersion}`);
  if (spec.extra) lines.push(spec.extra);
  await writeFile(join(pluginDir, 'plugin.config'), `${lines.join('\n')}\n`);
  await writeFile(join(pluginDir, 'index.js'), spec.index ?? defaultIndex(spec));
  return pluginDir;
}

/** A temporary directory removed by the returned cleanup. */
export async function tempDir(prefix = 'abctl-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

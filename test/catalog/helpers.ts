import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Appliance } from '../../core/metadata/appliance.js';
import { Assembly, AtomicAssembly } from '../../core/metadata/assembly.js';
import { Catalog, type CatalogOptions } from '../../catalog/catalog.js';
import { instanceLayout, projectRoot } from '../../services/instance.js';

export const SECRET = 'Tr0ub4dor&3-very-secret';

export function openCatalog(root: string, options: CatalogOptions = {}): Catalog {
  return new Catalog(instanceLayout(root), options);
}

/** An appliance with a bit of everything: typed properties, a password, endpoints, content, a file set. */
export function sampleAppliance(name: string, opts: { creator?: string; props?: number; password?: string } = {}): Appliance {
  const props = [
    { name: 'port', type: 'int' as const, value: 8080 },
    { name: 'admin.password', type: 'password' as const, value: opts.password ?? SECRET, required: true },
    { name: 'debug', type: 'boolean' as const, value: false, category: 'system' as const },
    { name: 'motd', description: 'text with <xml> & "quotes"\nand a second line', value: '  spaced  ' },
    { name: 'unset', required: true },
    { name: 'config', type: 'fileRef' as const, value: 'contentresource:server.xml' },
  ];
  for (let i = 0; i < (opts.props ?? 0); i++) props.push({ name: `p.${i}`, value: `value ${i}` } as never);
  return new Appliance({
    name,
    creator: opts.creator ?? 'tomcat',
    description: 'a web server',
    resources: { memoryMiB: 1024, cpus: 2 },
    scalability: { min: 1, target: 2, max: 4, absoluteMax: 8 },
    properties: props,
    inputs: [{ name: 'http', port: 8080, protocols: ['http'] }],
    outputs: [{ name: 'db', protocol: 'jdbc' }],
    contentResources: [{ name: 'server.xml', path: 'conf/server.xml', description: 'Tomcat config' }],
    fileSets: [{ name: 'home', root: '/opt/tomcat', excludes: ['logs/*.log', 'temp/*'] }],
  });
}

export function sampleAtomic(name: string, creator = 'tomcat'): AtomicAssembly {
  const a = new AtomicAssembly({ name, creator, appliances: [sampleAppliance(`${name}-1`, { creator })] });
  a.createSibling({ name: `${name}-2`, creator, properties: [{ name: 'pw', type: 'password', value: SECRET }] }, 'plugin');
  return a;
}

export function sampleAssembly(name: string, members: (Appliance | AtomicAssembly | Assembly)[]): Assembly {
  return new Assembly({ name, description: 'user assembly', properties: [{ name: 'env', value: 'prod' }], members });
}

/** Every file under dir (relative), with inode and mtime. */
export async function snapshot(dir: string): Promise<Map<string, { ino: number; mtimeMs: number; size: number }>> {
  const out = new Map<string, { ino: number; mtimeMs: number; size: number }>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p);
        out.set(relative(dir, p), { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size });
      }
    }
  };
  await walk(dir);
  return out;
}

export const distUrl = (rel: string) => pathToFileURL(join(projectRoot(), 'dist', rel)).href;

/** Runs an ESM snippet in a fresh `node` (it imports from dist/). Resolves with exit code/signal and output. */
export function runNode(
  code: string,
  env: NodeJS.ProcessEnv = {},
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void,
  killAfterMs?: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (c, signal) => resolve({ code: c, signal, stdout, stderr }));
  });
}

/** Script prelude for child processes: imports the compiled model and catalog. */
export function prelude(): string {
  return [
    `import { Appliance } from ${JSON.stringify(distUrl('core/metadata/appliance.js'))};`,
    `import { Catalog } from ${JSON.stringify(distUrl('catalog/catalog.js'))};`,
    `import { instanceLayout } from ${JSON.stringify(distUrl('services/instance.js'))};`,
  ].join('\n');
}

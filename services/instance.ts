import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where one abctl instance keeps its state. The instance directory is chosen by
 * `--instance DIR`, else `AB_INSTANCE`, else `~/.abctl` (documented in README.md, "Using abctl").
 */
export interface InstanceLayout {
  readonly root: string;
  /** Plugins installed with `installPlugins`. */
  readonly pluginsDir: string;
  readonly catalogDir: string;
  /** Scratch space: plugins never write temporary files on the reference host. */
  readonly tmpDir: string;
  readonly configDir: string;
  /** The plugins' per-host cache (ctx.utils.cache), kept between commands. */
  readonly cacheDir: string;
  /** The project's own plugins, shipped with abctl. */
  readonly bundledPluginsDir: string;
}

export const InstanceLayout = Symbol('InstanceLayout');

export function defaultInstanceDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME ?? homedir(), '.abctl');
}

export function resolveInstanceDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? (env.AB_INSTANCE || defaultInstanceDir(env)));
}

let cachedProjectRoot: string | undefined;

/** The directory holding abctl's package.json: the same from sources (tests) and from dist/. */
export function projectRoot(): string {
  if (cachedProjectRoot) return cachedProjectRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find abctl's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  cachedProjectRoot = dir;
  return dir;
}

export function instanceLayout(root: string, bundledPluginsDir = join(projectRoot(), 'plugins')): InstanceLayout {
  return Object.freeze({
    root,
    pluginsDir: join(root, 'plugins'),
    catalogDir: join(root, 'catalog'),
    tmpDir: join(root, 'tmp'),
    configDir: join(root, 'config'),
    cacheDir: join(root, 'cache'),
    bundledPluginsDir,
  });
}

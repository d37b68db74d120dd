import type { Application } from '../services/application.js';
import type { GlobalOptions } from './command-spec.js';

/** Opens the application for one command and always stops its plugins afterwards. */
export async function withApplication<T>(
  globals: GlobalOptions,
  options: {
    activate: boolean;
    /** Only the registry and plugin areas: quicker to load, for commands that list plugins. */
    pluginsOnly?: boolean;
    /** Told how many plugins failed to stop (each is also printed as a warning). */
    onStopped?: (failures: number) => void;
  },
  fn: (app: Application) => Promise<T>,
): Promise<T> {
  const { resolveInstanceDir } = await import('../services/instance.js');
  const appOptions = {
    instanceRoot: resolveInstanceDir(globals.instance),
    ...(process.env.AB_BUNDLED_PLUGINS ? { bundledPluginsDir: process.env.AB_BUNDLED_PLUGINS } : {}),
  };
  const app = options.pluginsOnly
    ? (await import('../services/application.js')).Application.forPlugins(appOptions)
    : (await import('../services/app.js')).Application.create(appOptions);
  if (options.activate) await app.start();
  try {
    return await fn(app);
  } finally {
    const failures = await app.stop();
    for (const failure of failures) {
      process.stderr.write(`warning: plugin ${failure.plugin} failed to stop: ${failure.message}\n`);
    }
    options.onStopped?.(failures.length);
  }
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(jsonText(value));
}

import type { Application } from '../services/app.js';
import type { GlobalOptions } from './command-spec.js';

/** Opens the application for one command and always stops its plugins afterwards. */
export async function withApplication<T>(
  globals: GlobalOptions,
  options: { activate: boolean },
  fn: (app: Application) => Promise<T>,
): Promise<T> {
  const { Application } = await import('../services/app.js');
  const { resolveInstanceDir } = await import('../services/instance.js');
  const app = Application.create({
    instanceRoot: resolveInstanceDir(globals.instance),
    ...(process.env.AB_BUNDLED_PLUGINS ? { bundledPluginsDir: process.env.AB_BUNDLED_PLUGINS } : {}),
  });
  if (options.activate) await app.start();
  try {
    return await fn(app);
  } finally {
    for (const failure of await app.stop()) {
      process.stderr.write(`warning: plugin ${failure.plugin} failed to stop: ${failure.message}\n`);
    }
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

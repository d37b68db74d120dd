import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';

/** Format version of plugin-state.json; readers accept this and every earlier one. */
const STATE_FORMAT = 1;

/**
 * Which plugins the user disabled, kept in `<instance>/config/plugin-state.json`.
 * Discovery derives everything else (tree, broken state) from the plugin directories.
 */
export class PluginStateStore {
  readonly file: string;

  constructor(configDir: string) {
    this.file = join(configDir, 'plugin-state.json');
  }

  async readDisabled(): Promise<Set<string>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new UserError('PLUGIN_STATE_CORRUPT', `cannot parse plugin state: ${(err as Error).message}`, {
        where: this.file,
        hint: 'fix the JSON by hand or delete the file (all plugins are then enabled)',
      });
    }
    const disabled = (data as { disabled?: unknown }).disabled;
    const format = (data as { format?: unknown }).format;
    if (typeof format !== 'number' || format > STATE_FORMAT) {
      throw new UserError('PLUGIN_STATE_FORMAT', `plugin state has format ${String(format)}, this abctl reads up to ${STATE_FORMAT}`, {
        where: this.file,
        hint: 'use the abctl release that wrote it, or a newer one',
      });
    }
    if (!Array.isArray(disabled) || !disabled.every((n): n is string => typeof n === 'string')) {
      throw new UserError('PLUGIN_STATE_CORRUPT', '"disabled" must be a list of plugin names', { where: this.file });
    }
    return new Set(disabled);
  }

  async writeDisabled(disabled: ReadonlySet<string>): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const body = { format: STATE_FORMAT, disabled: [...disabled].sort() };
    // Loaded here: reading the state (every command, --help too) must not pay for it.
    const { default: writeFileAtomic } = await import('write-file-atomic');
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`);
  }
}

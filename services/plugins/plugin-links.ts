import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';

const LINKS_FORMAT = 1;

/**
 * Plugins installed by link for development (`installPlugins --link`), kept in
 * `<instance>/config/plugin-links.json` as name -> the directory linked to. Installation never
 * makes a link on its own: this record is what says the user chose one.
 */
export class PluginLinkStore {
  readonly file: string;

  constructor(configDir: string) {
    this.file = join(configDir, 'plugin-links.json');
  }

  async read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    let data: { format?: unknown; links?: unknown };
    try {
      data = JSON.parse(text) as typeof data;
    } catch (err) {
      throw new UserError('PLUGIN_STATE_CORRUPT', `cannot parse the record of linked plugins: ${(err as Error).message}`, {
        where: this.file,
        hint: 'fix the JSON, or delete the file and install the linked plugins again with --link',
      });
    }
    if (typeof data.format !== 'number' || data.format > LINKS_FORMAT) {
      throw new UserError('PLUGIN_STATE_FORMAT', `the record of linked plugins has format ${String(data.format)}, this abctl reads up to ${LINKS_FORMAT}`, { where: this.file, hint: 'use the abctl release that wrote it, or a newer one' });
    }
    const links = data.links;
    if (typeof links !== 'object' || links === null || !Object.values(links).every((v) => typeof v === 'string')) {
      throw new UserError('PLUGIN_STATE_CORRUPT', '"links" must map plugin names to directories', { where: this.file });
    }
    return new Map(Object.entries(links as Record<string, string>));
  }

  async write(links: ReadonlyMap<string, string>): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const body = { format: LINKS_FORMAT, links: Object.fromEntries([...links].sort(([a], [b]) => (a < b ? -1 : 1))) };
    const { default: writeFileAtomic } = await import('write-file-atomic');
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`);
  }
}

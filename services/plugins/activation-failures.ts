import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import { InstanceLayout } from '../instance.js';
import type { ActivationMemory, ActivationMemoryKey, RememberedFailure } from '../registry/activation-memory.js';

/** Format version of activation-failures.json; readers accept this and every earlier one. */
const FORMAT = 1;

interface StoredFailure extends RememberedFailure {
  readonly name: string;
  readonly version: string;
  readonly entry: string;
  /** SHA-256 of the entry module's bytes when it hung: an edited module is tried again. */
  readonly sha256: string;
}

/**
 * Plugins whose entry module or activator hung, in `<instance>/config/activation-failures.json`,
 * so the next commands skip them at once instead of waiting out the time limit again. A mark
 * applies while name, version, entry path and entry bytes are unchanged; `enablePlugin` and
 * (un)installing clear it. Kept apart from plugin-state.json because it is written during
 * activation, without the instance lock: a lost update only costs one more wait.
 */
@injectable()
export class ActivationFailureStore implements ActivationMemory {
  readonly file: string;

  constructor(@inject(InstanceLayout) layout: InstanceLayout) {
    this.file = join(layout.configDir, 'activation-failures.json');
  }

  async recall(plugins: readonly ActivationMemoryKey[]): Promise<ReadonlyMap<string, RememberedFailure>> {
    const stored = await this.#read();
    const found = new Map<string, RememberedFailure>();
    if (stored.length === 0) return found;
    // Only plugins with a mark cost a hash; the common case reads one missing file.
    for (const key of plugins) {
      const mark = stored.find((s) => s.name === key.name && s.version === key.version && s.entry === key.entry);
      if (mark !== undefined && mark.sha256 === (await hashOf(key.entry))) found.set(key.name, { message: mark.message, at: mark.at });
    }
    return found;
  }

  async remember(plugin: ActivationMemoryKey, message: string): Promise<void> {
    const sha256 = await hashOf(plugin.entry);
    if (sha256 === undefined) return;
    const others = (await this.#read()).filter((s) => s.name !== plugin.name);
    await this.#write([...others, { ...plugin, sha256, message, at: new Date().toISOString() }]);
  }

  /** Drops the marks of these plugins; true when there was one. */
  async forget(names: readonly string[]): Promise<boolean> {
    const stored = await this.#read();
    const kept = stored.filter((s) => !names.includes(s.name));
    if (kept.length === stored.length) return false;
    await this.#write(kept);
    return true;
  }

  async #read(): Promise<StoredFailure[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const corrupt = (why: string): UserError =>
      new UserError('PLUGIN_STATE_CORRUPT', `cannot read the record of hung plugins: ${why}`, {
        where: this.file,
        hint: 'delete the file: abctl then tries every plugin again',
      });
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw corrupt((err as Error).message);
    }
    const { format, failures } = (data ?? {}) as { format?: unknown; failures?: unknown };
    if (typeof format !== 'number' || format > FORMAT) throw corrupt(`format ${String(format)}, this abctl reads up to ${FORMAT}`);
    if (!Array.isArray(failures) || !failures.every(isStoredFailure)) throw corrupt('"failures" must be a list of {name, version, entry, sha256, message, at}');
    return failures;
  }

  async #write(failures: readonly StoredFailure[]): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const { default: writeFileAtomic } = await import('write-file-atomic');
    await writeFileAtomic(this.file, `${JSON.stringify({ format: FORMAT, failures }, null, 2)}\n`);
  }
}

async function hashOf(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    // An unreadable entry cannot match a mark; loading it will say what is wrong.
    return undefined;
  }
}

function isStoredFailure(value: unknown): value is StoredFailure {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return ['name', 'version', 'entry', 'sha256', 'message', 'at'].every((k) => typeof v[k] === 'string');
}

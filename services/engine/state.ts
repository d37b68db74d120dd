/**
 * An engine's own state for one deployment (`<deployment>/<engine>/state.json`): what it loaded,
 * addresses and ports it gave out. Instances of a deployment are worked on in parallel, so
 * every change runs alone (in this process; the deployment lock keeps other processes out)
 * and is written atomically.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { UserError } from '../../core/errors.js';

export class StateFile<T extends object> {
  #chain: Promise<unknown> = Promise.resolve();
  constructor(
    readonly file: string,
    private readonly empty: () => T,
  ) {}

  async read(): Promise<T> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw new UserError('ENGINE_STATE_DAMAGED', `the engine state of the deployment cannot be read: ${(err as Error).message}`, {
        where: this.file,
        hint: 'it is written atomically, so this is damage from outside abctl; remove what the deployment runs by hand, then this file',
      });
    }
  }

  /** Runs `fn` on the state alone, then writes what it changed. */
  update<R>(fn: (s: T) => Promise<R> | R): Promise<R> {
    const run = this.#chain.then(async () => {
      const s = await this.read();
      const r = await fn(s);
      await mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, `${JSON.stringify(s, null, 2)}\n`);
      return r;
    });
    this.#chain = run.catch(() => {});
    return run;
  }
}

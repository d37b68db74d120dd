import { mkdir } from 'node:fs/promises';
import { UserError } from '../core/errors.js';

/**
 * Serialises mutating commands on one instance. Another abctl holding the lock makes us
 * wait a little, then fail with a clear "busy" error instead of interleaving writes.
 * A lock left by a crashed process goes stale after `staleMs` and is taken over. Every
 * holder (catalog commits, editing, plugin installation) takes this one lock.
 */
export async function withInstanceLock<T>(
  instanceRoot: string,
  what: string,
  fn: () => Promise<T>,
  opts: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  await mkdir(instanceRoot, { recursive: true });
  // AB_LOCK_WAIT_MS lets scripts (and tests) choose how long to wait for a busy instance.
  const waitMs = opts.waitMs ?? (Number(process.env.AB_LOCK_WAIT_MS) || 10_000);
  // Loaded here, not at the top: proper-lockfile brings graceful-fs (33 KB, and it patches fs as it
  // loads), and this module is imported by every command that lists plugins (issue 14, start-up).
  const { default: lockfile } = await import('proper-lockfile');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(instanceRoot, {
      lockfilePath: `${instanceRoot}/.lock`,
      // proper-lockfile refreshes a held lock every stale/2, so 10 s lets a crashed holder go quickly.
      stale: opts.staleMs ?? 10_000,
      retries: { retries: Math.max(1, Math.ceil(waitMs / 100)), factor: 1, minTimeout: 100, maxTimeout: 100 },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new UserError('INSTANCE_BUSY', `another abctl command is changing this instance; could not ${what}`, {
        where: instanceRoot,
        hint: 'wait for it to finish and run the command again',
      });
    }
    throw err;
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}

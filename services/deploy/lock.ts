/**
 * One lock per deployment, so that two commands changing the same deployment cannot
 * interleave: the second is refused at once (not queued: deploy and scale can take minutes).
 * proper-lockfile as for the instance lock; its lock goes stale 10 s after a holder stops
 * refreshing it. A holder killed with SIGKILL is recognised sooner: we record our pid beside
 * the lock, and a lock whose recorded process no longer exists on this machine is taken over.
 */
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../../core/errors.js';
import { LOCK_FILE, LOCK_OWNER_FILE, type DeploymentFiles } from './records.js';
import { processAlive } from '../process-alive.js';

interface Owner {
  pid: number;
  host: string;
  command: string;
  since: string;
}


async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

export async function withDeploymentLock<T>(files: DeploymentFiles, command: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(files.dir, { recursive: true });
  const lockPath = join(files.dir, LOCK_FILE);
  // Beside the lock, not inside it: proper-lockfile takes a change of its directory's mtime
  // for another process stealing the lock.
  const ownerFile = join(files.dir, LOCK_OWNER_FILE);
  let compromised: Error | undefined;
  const take = () =>
    lockfile.lock(files.dir, {
      lockfilePath: lockPath,
      stale: 10_000,
      retries: 0,
      realpath: false,
      // proper-lockfile's default throws from a timer; we report it when the command ends.
      onCompromised: (err) => {
        compromised = err;
      },
    });
  let release: () => Promise<void>;
  try {
    release = await take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const owner = await readOwner(ownerFile);
    // Looked at twice, a moment apart: a new holder writes its owner file right after locking,
    // so an owner file that stays dead is not a live holder's not-yet-written one.
    const dead = async (o: Owner | undefined) => o !== undefined && o.host === hostname() && !processAlive(o.pid);
    const settled = (await dead(owner)) && (await new Promise((r) => setTimeout(r, 250)), JSON.stringify(await readOwner(ownerFile)) === JSON.stringify(owner));
    if (settled) {
      // The holder died without releasing (SIGKILL); its lock is ours to take.
      await rm(lockPath, { recursive: true, force: true });
      release = await take();
    } else {
      throw new UserError('DEPLOYMENT_BUSY', `another abctl command${owner ? ` (${owner.command}, pid ${owner.pid}, since ${owner.since})` : ''} is changing deployment "${files.name}"`, {
        where: files.dir,
        hint: 'wait for it to finish, then run this command again; describeDeployments shows its progress meanwhile',
      });
    }
  }
  const me: Owner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  await writeFile(ownerFile, JSON.stringify(me));
  try {
    const result = await fn();
    if (compromised) {
      throw new UserError('DEPLOYMENT_LOCK_LOST', `the lock on deployment "${files.name}" was lost while this command ran (${compromised.message})`, {
        where: files.dir,
        hint: 'another command may have changed the deployment meanwhile; check it with describeDeployments and run this command again',
      });
    }
    return result;
  } finally {
    await rm(ownerFile, { force: true });
    await release().catch(() => {});
    // A deploy refused before it wrote its record (a bad plan, a root conflict) leaves no empty
    // directory behind; rmdir leaves a directory that holds anything.
    await rmdir(files.dir).catch(() => {});
  }
}

/**
 * One lock per deployment, so that two commands changing the same deployment cannot
 * interleave: the second is refused at once (not queued: deploy and scale can take minutes).
 * proper-lockfile as for the instance lock; its lock goes stale 10 s after a holder stops
 * refreshing it. A holder killed with SIGKILL is recognised sooner: we record our pid beside
 * the lock, and a lock whose recorded process no longer exists on this machine is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../../core/errors.js';
import type { DeploymentFiles } from './records.js';

interface Owner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  const lockPath = join(files.dir, '.lock');
  // Inside the lock directory: a fresh lock has no owner until we write one, so a stale
  // owner file can never be mistaken for the current holder's.
  const ownerFile = join(lockPath, 'owner.json');
  const take = () => lockfile.lock(files.dir, { lockfilePath: lockPath, stale: 10_000, retries: 0, realpath: false });
  let release: () => Promise<void>;
  try {
    release = await take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const owner = await readOwner(ownerFile);
    if (owner && owner.host === hostname() && !alive(owner.pid)) {
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
    return await fn();
  } finally {
    // proper-lockfile removes its directory with rmdir, which needs it empty.
    await rm(ownerFile, { force: true });
    await release().catch(() => {});
  }
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** `<kind>-<pid>-<random>`: the pid tells a later job whether the owner is still running. */
const JOB_DIR = /^(?:introspect|capture)-(\d+)-[0-9a-f]+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A private scratch directory for one job in the instance's tmp dir. Job dirs left behind by
 * processes that were killed (with their partial archives) are removed first.
 */
export async function createJobDir(tmpDir: string, kind: 'introspect' | 'capture'): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  for (const name of await readdir(tmpDir)) {
    const pid = Number(JOB_DIR.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(join(tmpDir, name), { recursive: true, force: true });
  }
  const dir = join(tmpDir, `${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

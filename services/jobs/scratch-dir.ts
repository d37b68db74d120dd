import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../process-alive.js';

/** `job-<name>-<pid>-<random>`: the pid tells a later job whether the owner still runs. */
const SCRATCH_DIR = /^job-[a-z]+-(\d+)-[0-9a-f]+$|^(?:introspect|capture)-(\d+)-[0-9a-f]+$/;


/**
 * A private scratch directory for one job in the instance's tmp dir. Scratch dirs left behind
 * by killed processes (with their partial archives) are removed first; the second pattern
 * matches the names older versions used.
 */
export async function createScratchDir(tmpDir: string, job: string): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  for (const name of await readdir(tmpDir)) {
    const m = SCRATCH_DIR.exec(name);
    const pid = Number(m?.[1] ?? m?.[2]);
    if (pid && pid !== process.pid && !processAlive(pid)) await rm(join(tmpDir, name), { recursive: true, force: true });
  }
  const dir = join(tmpDir, `job-${job}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

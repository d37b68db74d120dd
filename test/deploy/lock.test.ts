/** The deployment lock around a command that removes the deployment (undeploy), with the real lock timers. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDeploymentLock } from '../../services/deploy/lock.js';
import { DeploymentFiles, removeDeploymentFiles } from '../../services/deploy/records.js';
import { tempDirEach } from '../support/each-test.js';

describe('deployment lock', () => {
  const tmp = tempDirEach('abctl-lock-');

  it('outlives the removal of its deployment: undeploy is not told its lock was lost', async () => {
    const files = new DeploymentFiles(tmp.path, 'gone');
    const result = await withDeploymentLock(files, 'undeploy', async () => {
      await mkdir(join(files.dir, 'logs'), { recursive: true });
      await writeFile(join(files.dir, 'logs', 'web-1.log'), 'x');
      await writeFile(files.recordFile, '{}');
      await removeDeploymentFiles(files);
      // proper-lockfile refreshes the lock every 5 s (stale 10 s): one refresh must find it in place.
      await new Promise((r) => setTimeout(r, 5_600));
      return 'done';
    });
    expect(result).toBe('done');
    // The lock's release took the emptied directory with it.
    expect(await readdir(join(tmp.path, 'deployments'))).toEqual([]);
  }, 20_000);
});

/**
 * Deploy to an SSH host nobody answers on (a free loopback port: a real refused connection),
 * through the built CLI: one error naming the host, what failed and how to fix it, printed once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abctl } from '../introspection/helpers.js';
import { freePort } from '../support/sshd.mjs';
import { tempDir } from '../helpers/plugins.js';
import { exampleSite, type ExampleSite } from './example-fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let site: ExampleSite;
let target: string;

beforeAll(async () => {
  tmp = await tempDir('abctl-deploy-unreachable-');
  target = `ssh://root@127.0.0.1:${await freePort()}`;
  site = await exampleSite(tmp.path, join(tmp.path, 'target', 'opt', 'minihttpd'), { web: { port: 18001, serverName: 'web-x', target } });
  // A key to offer, so that the attempt gets as far as the network.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp.path, 'key')]);
}, 120_000);
afterAll(async () => {
  await tmp.cleanup();
});

describe('deploy to an unreachable SSH host', () => {
  it('stops with one error naming the host and its instances, before the requirements check and without a record', () => {
    const where = target.slice('ssh://root@'.length);
    const port = where.split(':')[1];
    const r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--identity-file', join(tmp.path, 'key'), '--known-hosts', join(tmp.path, 'known_hosts')], site.env);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `error: ${target}: web-1 cannot be deployed there: cannot connect to 127.0.0.1:${port}: connection refused\n` +
        `  hint: check that sshd runs on 127.0.0.1 and listens on port ${port}; then run the same command again (nothing was deployed or recorded by this run)\n`,
    );
    expect(existsSync(join(site.instance, 'deployments', 'shop', 'deployment.json'))).toBe(false);
    expect(abctl(['describeDeployments'], site.env).out).toBe('no deployments (abctl deploy --assembly A --plan P makes one)\n');
  });
});

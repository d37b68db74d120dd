/**
 * The real agent on a real SSH host (sshd in its own namespaces, test/support/hosts.mjs), with
 * the shipped example plugin patched to sleep in rehydrate while a marker file exists there:
 * - `abctl deploy` (the CLI, its own process) is killed with SIGKILL while the agent sits in
 *   that hook: the agent on the host is gone within seconds (it watches the stdin abctl holds
 *   open over the SSH channel), describeDeployments reads the record, and deploy resumes;
 * - the plan's admin password is sampled for during the step: never in a command line on the
 *   host or here, never in a log; on the host only the product's config (0600) holds it: the
 *   bundle (0600 files in 0700 directories) has it encrypted, its key on the agent's stdin only.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../catalog/secrets.js';
import type { Appliance } from '../../core/metadata/index.js';
import { DeploymentService } from '../../services/deploy/module.js';
import { sshHostsForFile } from '../support/each-test.js';
import type { TestHosts } from '../support/hosts.mjs';
import { abctlAsync } from '../introspection/helpers.js';
import { exampleSite, health, sleepyPlugins } from './example-fixture.js';

const PASSWORD = 's3cret-from-plan';
const MARKER = '/srv/abctl-test-sleep';
const PORT = 18380;
const ssh = sshHostsForFile(1, 'abctl-deploy-agent-');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a deploy killed while the agent runs a plugin hook on an SSH host', () => {
  it('stops the agent there; the record is readable; deploy resumes; the password stays out of command lines, logs and other files', async () => {
    const host = ssh.hosts.hosts[0] as TestHosts['hosts'][number];
    const plugins = await sleepyPlugins(join(ssh.tmp.path, 'plugins'), MARKER);
    const site = await exampleSite(ssh.tmp.path, '/opt/minihttpd', { web: { port: PORT, serverName: 'web-one', target: host.target } }, { plugins });
    const service = site.app.get(DeploymentService);
    const targetOptions = { identityFile: ssh.hosts.identityFile, knownHostsFile: ssh.hosts.knownHostsFile };
    await host.exec(['touch', MARKER]);

    const cli = abctlAsync(['deploy', '--assembly', 'site', '--plan', site.planFile, '--identity-file', ssh.hosts.identityFile, '--known-hosts', ssh.hosts.knownHostsFile], site.env);
    // Sample every process's command line, on the host and here, until the hook sleeps.
    const remoteArgs: string[] = [];
    const localArgs: string[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      remoteArgs.push(await host.exec(['ps', '-eo', 'args']));
      localArgs.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }));
      const sleeping = await host.exec(['sh', '-c', `cat ${MARKER}.sleeping 2>/dev/null || true`]);
      if (sleeping.trim() !== '') break;
      if (Date.now() > deadline) throw new Error(`the agent never reached the sleeping hook; abctl said: ${JSON.stringify(await Promise.race([cli.done, sleep(10).then(() => 'still running')]))}`);
      await sleep(100);
    }
    const agents = () => host.exec(['sh', '-c', 'ps -eo pid,args | grep "[a]gent.mjs" || true']);
    expect(await agents()).toContain('agent.mjs rehydrate start --bundle /var/lib/abctl/deployments/site/web-1/bundle --exit-with-stdin --key-stdin');
    expect(remoteArgs.join('\n')).not.toContain(PASSWORD);
    expect(localArgs.join('\n')).not.toContain(PASSWORD);

    process.kill(cli.pid, 'SIGKILL');
    await cli.done;
    const killedAt = Date.now();
    while ((await agents()).trim() !== '') {
      if (Date.now() - killedAt > 8000) throw new Error(`the agent still runs on the host 8 s after abctl was killed:\n${await agents()}`);
      await sleep(200);
    }

    // Another process reads the record the killed one left.
    const left = await service.describe('site');
    expect(left.record.instances.map((i) => [i.id, i.status, i.hostname])).toEqual([['web-1', 'rehydrating', 'host1']]);

    await host.exec(['rm', '-f', MARKER]);
    try {
      const again = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
      expect(again.failures).toEqual([]);
      expect(again.record.instances.map((i) => [i.id, i.status, i.ports])).toEqual([['web-1', 'running', [{ input: 'http', port: PORT }]]]);
      expect(await health(host.address, PORT)).toBe('ok web-one');
      // The bundle key, kept in the record under the catalog key, was on no command line either (the killed run made it; the resumed one kept it).
      const recordFile = join(site.instance, 'deployments', 'site', 'deployment.json');
      const stored = (JSON.parse(readFileSync(recordFile, 'utf8')) as { instances: { bundleKey: string }[] }).instances[0]!.bundleKey;
      const box = (await SecretBox.load(join(site.instance, 'config', 'catalog.key'), false))!;
      const key = box.decrypt(stored, recordFile);
      expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(`${remoteArgs.join('\n')}${localArgs.join('\n')}`).not.toContain(key);
      expect(readFileSync(recordFile, 'utf8')).not.toContain(key);

      // Files on the host holding the password: the product's config alone, 0600; the bundle's appliance has it encrypted.
      const holders = (await host.exec(['sh', '-c', `grep -rlF -- '${PASSWORD}' /opt /srv /var/lib/abctl || true`])).trim().split('\n').sort();
      expect(holders).toEqual(['/opt/minihttpd/conf/server.properties']);
      for (const f of holders) expect(await host.exec(['stat', '-c', '%a %U', f])).toBe('600 root\n');
      expect(await host.exec(['grep', '-c', 'enc:v1:', '/var/lib/abctl/deployments/site/web-1/bundle/appliance.xml'])).toBe('1\n');
      expect(await host.exec(['stat', '-c', '%a', '/var/lib/abctl/deployments/site/web-1/bundle'])).toBe('700\n');
      // Logs: the deployment's per-instance log here, the product's log there.
      const logs = join(site.instance, 'deployments', 'site', 'logs');
      for (const f of readdirSync(logs)) expect(readFileSync(join(logs, f), 'utf8')).not.toContain(PASSWORD);
      expect(await host.exec(['cat', '/opt/minihttpd/logs/minihttpd.out'])).not.toContain(PASSWORD);
    } finally {
      await service.undeploy('site', { targetOptions }).catch(() => {});
    }
  }, 180_000);
});

/**
 * A shared NFS file set that is not captured is mounted at its root from the plan's mount
 * target. NFS itself cannot run on this machine: its kernel has no nfs file system
 * (/proc/filesystems lists none, and there are no modules to load), and Debian 12 has no
 * userspace NFS server package (unfs3 is gone). So the volume is a directory of the host
 * given as file:///path, which the agent bind-mounts; a server:/export target goes the real
 * NFS way (`mount -t nfs`), and here that fails with mount's own reason, named in the error.
 */
describe('a not-captured shared NFS file set', () => {
  // Each case has its own root, so that one case's leftovers cannot pass another.
  const addVolume = (root: string) => (a: Appliance) => a.addFileSet({ name: 'data', root, scope: 'shared', sharedType: 'NFS', captured: false }, 'framework');

  it('is mounted at its root from the plan\'s mount target (file:///: a bind mount), only once; undeploy unmounts it, and says so when it is busy', async () => {
    const host = ssh.hosts.hosts[0] as TestHosts['hosts'][number];
    await host.exec(['sh', '-c', 'mkdir -p /srv/volume && echo shared > /srv/volume/hello.txt']);
    const site = await exampleSite(join(ssh.tmp.path, 'nfs'), '/opt/minihttpd', { web: { port: PORT + 1, serverName: 'web-nfs', target: host.target } }, { edit: addVolume('/srv/minihttpd-data'), mountTargets: { data: 'file:///srv/volume' } });
    const service = site.app.get(DeploymentService);
    const targetOptions = { identityFile: ssh.hosts.identityFile, knownHostsFile: ssh.hosts.knownHostsFile };
    try {
      const r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
      expect(r.failures).toEqual([]);
      expect(await host.exec(['cat', '/srv/minihttpd-data/hello.txt'])).toBe('shared\n');
      expect(await host.exec(['findmnt', '-n', '-o', 'TARGET', '/srv/minihttpd-data'])).toBe('/srv/minihttpd-data\n');
      const log = readFileSync(join(site.instance, 'deployments', 'site', 'logs', 'web-1.log'), 'utf8');
      expect(log).toContain('file set data: mounted file:///srv/volume at /srv/minihttpd-data');
      // Scaling or resuming rehydrates again: the volume is not mounted twice.
      await service.stop('site', { targetOptions });
      const again = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
      expect(again.failures).toEqual([]);
      expect(readFileSync(join(site.instance, 'deployments', 'site', 'logs', 'web-1.log'), 'utf8').split('file set data: mounted').length - 1).toBe(1);
      expect((await host.exec(['findmnt', '-n', '-o', 'TARGET', '/srv/minihttpd-data'])).trim().split('\n')).toHaveLength(1);

      // Another instance on this host whose bundle uses the same root keeps the volume mounted
      // (the agent's release step, as removal runs it, with that bundle in --keep).
      const dep = '/var/lib/abctl/deployments/site';
      await host.exec(['cp', '-a', `${dep}/web-1`, `${dep}/web-9`]);
      const kept = await host.exec(['sh', '-c', `node ${dep}/web-9/agent.mjs release --bundle ${dep}/web-9/bundle --mounts-dir ${dep}/.mounts --keep ${dep}/web-1/bundle 2>&1`]);
      expect(kept).toContain('file set data: /srv/minihttpd-data stays mounted: another instance on this machine uses it');
      expect(await host.exec(['findmnt', '-n', '-o', 'TARGET', '/srv/minihttpd-data'])).toBe('/srv/minihttpd-data\n');
      await host.exec(['rm', '-rf', `${dep}/web-9`]);

      // A process working in the volume keeps it busy: undeploy says so and keeps the instance and its directory.
      const pid = (await host.exec(['sh', '-c', 'cd /srv/minihttpd-data && setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!'])).trim();
      const busy = await service.undeploy('site', { targetOptions });
      expect(busy.failures.map((f) => [f.id, f.step])).toEqual([['web-1', 'remove']]);
      expect(busy.failures[0]?.message).toContain('the volume at /srv/minihttpd-data is busy, so it stays mounted');
      expect(busy.failures[0]?.message).toContain('fuser -vm /srv/minihttpd-data');
      expect(await host.exec(['findmnt', '-n', '-o', 'TARGET', '/srv/minihttpd-data'])).toBe('/srv/minihttpd-data\n');
      expect(await host.exec(['ls', '/var/lib/abctl/deployments/site'])).toBe('web-1\n');
      await host.exec(['kill', pid]);
      // Again: unmounted, nothing of it in the host's mount table; the volume's own files are untouched.
      const gone = await service.undeploy('site', { targetOptions });
      expect(gone.failures).toEqual([]);
      expect(await host.exec(['cat', '/proc/self/mountinfo'])).not.toContain('/srv/minihttpd-data');
      expect(await host.exec(['ls', '-A', '/var/lib/abctl/deployments/site'])).toBe('');
      expect(await host.exec(['cat', '/srv/volume/hello.txt'])).toBe('shared\n');

      // A root that was a mount point before deploy is not this deployment's to unmount.
      await host.exec(['mount', '--bind', '/srv/volume', '/srv/minihttpd-data']);
      expect((await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions })).failures).toEqual([]);
      expect((await service.undeploy('site', { targetOptions })).failures).toEqual([]);
      expect(await host.exec(['findmnt', '-n', '-o', 'TARGET', '/srv/minihttpd-data'])).toBe('/srv/minihttpd-data\n');
      await host.exec(['umount', '/srv/minihttpd-data']);
    } finally {
      await service.undeploy('site', { targetOptions }).catch(() => {});
    }
  }, 120_000);

  it('a server:/export target is mounted with mount -t nfs; its failure names the target, the root and the cause', async () => {
    const host = ssh.hosts.hosts[0] as TestHosts['hosts'][number];
    const site = await exampleSite(join(ssh.tmp.path, 'nfs2'), '/opt/minihttpd', { web: { port: PORT + 2, serverName: 'web-nfs2', target: host.target } }, { edit: addVolume('/srv/minihttpd-nfs'), mountTargets: { data: '10.231.255.254:/exports/data' } });
    const service = site.app.get(DeploymentService);
    const targetOptions = { identityFile: ssh.hosts.identityFile, knownHostsFile: ssh.hosts.knownHostsFile };
    try {
      const r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
      expect(r.failures.map((f) => [f.id, f.step])).toEqual([['web-1', 'rehydrate']]);
      expect(r.failures[0]?.logTail).toContain('mounting 10.231.255.254:/exports/data at /srv/minihttpd-nfs failed');
    } finally {
      await service.undeploy('site', { targetOptions }).catch(() => {});
    }
  }, 120_000);
});

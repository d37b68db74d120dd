/**
 * The podman target with real podman: the example appliance deployed as pods of this machine's
 * podman (one image written over a small root file system and loaded once), two instances on
 * different ports of 127.0.0.1, pinged, scaled to 3 (the port chosen for the third taken before
 * podman binds it: another is chosen) and back to 1, stopped, started and
 * undeployed, and afterwards podman holds nothing of it (pods, containers, volumes, secrets,
 * images, its network). Other tests may use podman at the same time: every check filters on
 * this deployment's names.
 */
import { readFileSync, readdirSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentService } from '../../services/deploy/module.js';
import { networkName, podName } from '../../services/deploy/podman-target.js';
import { tempDir } from '../helpers/plugins.js';
import { health, type ExampleSite } from '../deploy/example-fixture.js';
import { scalableSite } from './fixture.js';
import { freePort } from '../support/sshd.mjs';
import { podman, testRootfs } from '../support/podman.mjs';
import { makeRootFs } from '../validation/fixture.js';

const NAME = `pm${process.pid}`;

/** Everything podman has whose name mentions this deployment. */
function leftovers(): string[] {
  const lines = (args: string[]) => podman(args, { timeoutMs: 60_000 }).out.split('\n').map((l) => l.trim()).filter((l) => l.includes(NAME));
  return [
    ...lines(['ps', '-a', '--format', '{{.Names}}']),
    ...lines(['pod', 'ls', '--format', '{{.Name}}']),
    ...lines(['volume', 'ls', '--format', '{{.Name}}']),
    ...lines(['secret', 'ls', '--format', '{{.Name}}']),
    ...lines(['network', 'ls', '--format', '{{.Name}}']),
  ];
}

/** A TCP server on 127.0.0.1 at a port the OS picks: a port taken by another program. */
function listenOn127(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('the example deployed on podman', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let site: ExampleSite;
  let service: DeploymentService;
  let port: number;

  beforeAll(async () => {
    tmp = await tempDir('abctl-podman-');
    port = await freePort();
    site = await scalableSite(tmp.path, 'podman', port, 'web-pod');
    service = site.app.get(DeploymentService);
  }, 120_000);

  afterAll(async () => {
    await service?.undeploy(NAME).catch(() => {});
    await tmp?.cleanup();
  });

  it('refuses a base that lacks what the example plugin requires, before any image or pod exists', async () => {
    // libc6 but no libstdc++6, which the example's Node.js needs (its baseImageRequirements).
    const base = await makeRootFs(join(tmp.path, 'poor-base'), { users: ['root'], groups: ['root'], packages: { libc6: '2.36-9+deb12u14' } });
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, name: `${NAME}x`, targetOptions: { engine: { base } } });
    // Both planned instances fail on it; the image (one per appliance) was never written.
    expect(r.failures.map((f) => f.id)).toEqual(['web-1', 'web-2']);
    for (const f of r.failures) expect(f.message).toContain('package libstdc++6: not installed');
    expect(podman(['pod', 'exists', podName(`${NAME}x`, 'web-1')]).code).not.toBe(0);
    expect((await service.undeploy(`${NAME}x`)).failures).toEqual([]);
  }, 120_000);

  it('deploys two instances on their own ports, pings, scales 3 and 1, stops, starts, undeploys and leaves nothing', async () => {
    const base = testRootfs();
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, name: NAME, targetOptions: { engine: { base } } });
    expect(r.failures).toEqual([]);
    const [one, two] = r.record.instances;
    expect(r.record.instances.map((i) => [i.id, i.status, i.hostname])).toEqual([
      ['web-1', 'running', podName(NAME, 'web-1')],
      ['web-2', 'running', podName(NAME, 'web-2')],
    ]);
    // Instance 1 on the plan's port, instance 2 on a port of its own; both on 127.0.0.1 only.
    expect(one?.ports).toEqual([{ input: 'http', port }]);
    const port2 = two?.ports[0]?.port as number;
    expect(port2).not.toBe(port);
    expect(await health('127.0.0.1', port)).toBe('ok web-pod');
    expect(await health('127.0.0.1', port2)).toBe('ok web-pod');
    // Each pod has its own fixed address on the deployment's network.
    expect(one?.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(two?.address).not.toBe(one?.address);

    // The password reached the container as a Secret: not in the kept manifests, not in any log.
    const dir = join(site.instance, 'deployments', NAME);
    const manifests = readdirSync(join(dir, 'podman')).filter((f) => f.endsWith('.yaml'));
    expect(manifests.sort()).toEqual(['web-1.yaml', 'web-2.yaml']);
    for (const f of manifests) expect(readFileSync(join(dir, 'podman', f), 'utf8')).not.toContain('s3cret-from-plan');
    for (const f of readdirSync(join(dir, 'logs'))) expect(readFileSync(join(dir, 'logs', f), 'utf8')).not.toContain('s3cret-from-plan');
    expect(podman(['exec', `${podName(NAME, 'web-1')}-main`, '/bin/cat', '/opt/minihttpd/conf/server.properties']).out).toContain('s3cret-from-plan');

    const state = JSON.parse(readFileSync(join(dir, 'podman', 'state.json'), 'utf8')) as { images: Record<string, { reference: string }> };
    const reference = state.images['web']?.reference as string;
    expect(reference).toMatch(/^localhost\/abctl\/web:[0-9a-f]{12}$/);
    expect(podman(['image', 'exists', reference]).code).toBe(0);

    const rows = await service.ping(NAME);
    expect(rows.map((x) => [x.id, x.healthy])).toEqual([
      ['web-1', true],
      ['web-2', true],
    ]);

    // A port abctl chose for web-3 is taken before podman binds it: the engine state already
    // names a port for web-3 (as after a choice made earlier), and this test listens on it.
    const held = await listenOn127();
    try {
      const statePath = join(dir, 'podman', 'state.json');
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as { hostPorts: Record<string, Record<string, number>> };
      st.hostPorts['web-3'] = { http: held.port };
      writeFileSync(statePath, JSON.stringify(st, null, 2));
      const up = await service.scale(NAME, 'web', 3);
      expect(up.failures).toEqual([]);
      const three = up.record.instances.find((i) => i.id === 'web-3');
      expect(three?.status).toBe('running');
      // podman's bind failed on the held port; the engine chose another one and played the pod again.
      expect(readFileSync(join(dir, 'logs', 'web-3.log'), 'utf8')).toMatch(/address already in use[\s\S]*a chosen port was taken meanwhile; choosing others \(attempt 2\)/);
      expect(three?.ports[0]?.port).not.toBe(held.port);
      expect(await health('127.0.0.1', three?.ports[0]?.port as number)).toBe('ok web-pod');
    } finally {
      await new Promise((r) => held.server.close(r));
    }
    const down = await service.scale(NAME, 'web', 1);
    expect(down.failures).toEqual([]);
    expect(down.record.instances.map((i) => i.id)).toEqual(['web-1']);
    expect(podman(['pod', 'exists', podName(NAME, 'web-2')]).code).not.toBe(0);
    await expect(health('127.0.0.1', port2)).rejects.toThrow();

    const stopped = await service.stop(NAME);
    expect(stopped.failures).toEqual([]);
    await expect(health('127.0.0.1', port)).rejects.toThrow();
    // SIGTERM ran the plugin's stop chain: the container exited 0 after stopping the product.
    expect(podman(['container', 'inspect', `${podName(NAME, 'web-1')}-main`, '--format', '{{.State.ExitCode}}']).out.trim()).toBe('0');
    const started = await service.start(NAME);
    expect(started.failures).toEqual([]);
    expect(await health('127.0.0.1', port)).toBe('ok web-pod');
    expect(started.record.instances[0]?.address).toBe(one?.address);

    const gone = await service.undeploy(NAME);
    expect(gone.failures).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(leftovers()).toEqual([]);
    expect(podman(['network', 'exists', networkName(NAME)]).code).not.toBe(0);
    expect(podman(['image', 'exists', reference]).code).not.toBe(0);
    expect(statSync(site.instance).isDirectory()).toBe(true);
  }, 600_000);
});

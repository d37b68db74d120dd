/**
 * The example's image on real podman (Debian's 4.3 with runc, settings from
 * test/support/containers.conf): pulled from the OCI layout, run with a ConfigMap-like and a
 * Secret-like mount that change the port, the server name and the password; the product answers
 * HTTP on 127.0.0.1 with them, the health check command reports healthy, `podman stop` runs the
 * plugin's stop chain and the container exits 0; started again it does not rehydrate twice; a
 * `podman stop` while the start chain still runs stops the product and exits 0 too; a bad
 * configuration makes it exit 1 saying what is wrong.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/plugins.js';
import { health, holdingStart } from '../deploy/example-fixture.js';
import { examplePlugins } from '../introspection/helpers.js';
import { IMAGE_HOME, exampleImage, type ExampleImage } from './fixture.js';
import { cleanup, loadLayout, podman, podmanAvailable, podmanOk, waitFor } from '../support/podman.mjs';
import { freePort } from '../support/sshd.mjs';

const available = podmanAvailable();
let tmp: { path: string; cleanup: () => Promise<void> };
let ex: ExampleImage;
let imageId = '';
let reference = '';
const containers: string[] = [];

beforeAll(async () => {
  if (!available.ok) throw new Error(available.reason);
  tmp = await tempDir('abctl-podman-');
  ex = await exampleImage(tmp.path);
  reference = `localhost/${ex.image.repository}:${ex.image.tag}`;
  imageId = loadLayout(ex.image.dir, ex.image.tag, reference);
}, 240_000);

afterAll(async () => {
  cleanup({ containers, images: imageId ? [imageId] : [] });
  await ex?.site.app.stop();
  await tmp?.cleanup();
}, 120_000);

/** A config dir and a secret dir as Kubernetes would mount them from a ConfigMap and a Secret. */
function mounts(name: string, properties: Record<string, string>, secret: Record<string, string>): string[] {
  const config = join(tmp.path, name, 'config');
  const secretDir = join(tmp.path, name, 'secret');
  mkdirSync(config, { recursive: true });
  mkdirSync(secretDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(config, 'properties.json'), JSON.stringify(properties));
  writeFileSync(join(secretDir, 'properties.json'), JSON.stringify(secret), { mode: 0o600 });
  return ['-v', `${config}:/etc/abctl/config:ro`, '-v', `${secretDir}:/etc/abctl/secret:ro`];
}

function containerName(what: string): string {
  const name = `abctl-test-${what}-${process.pid}`;
  containers.push(name);
  return name;
}

/** How many times the container's agent has reported the product started. */
function startsLogged(name: string): number {
  return podman(['logs', name]).err.split('abctl: started (').length - 1;
}

describe('an appliance image on podman', () => {
  it('runs the product with the mounted configuration, is healthy, stops through the plugin on SIGTERM and exits 0', async () => {
    const port = await freePort();
    const name = containerName('web');
    const secret = 'pw-from-the-secret';
    podmanOk(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:${port}`, ...mounts('web', { port: String(port), 'server.name': 'from-podman', 'bind.address': '0.0.0.0' }, { 'admin.password': secret }), reference]);
    // The product answers before its start hook returns: stop only once the agent says it is running.
    await waitFor(async () => (await health('127.0.0.1', port)) === 'ok from-podman' && startsLogged(name) === 1, { timeoutMs: 60_000, what: `minihttpd on 127.0.0.1:${port}` }).catch((e: Error) => {
      throw new Error(`${e.message}\n${podman(['logs', name]).err}`);
    });

    // The image's health check command.
    const ping = podman(['exec', name, '/opt/abctl/node', '/opt/abctl/abctl-agent.mjs', 'ping', '--bundle', '/opt/abctl/bundle'], { timeoutMs: 60_000 });
    expect(ping.code, ping.err).toBe(0);
    expect(ping.out).toContain('healthy: example: http://127.0.0.1:');
    // The password reached the product's own config file (0600) and nothing the health check reads.
    expect(podmanOk(['exec', name, 'cat', `${IMAGE_HOME}/conf/server.properties`])).toContain(`admin.password=${secret}`);
    expect(podmanOk(['exec', name, 'cat', '/opt/abctl/bundle/appliance.xml'])).not.toContain(secret);

    const stop = podman(['stop', '--time', '30', name], { timeoutMs: 60_000 });
    expect(stop.code, stop.err).toBe(0);
    expect(podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}'])).toBe('0');
    const log = podman(['logs', name]).err;
    expect(log).toContain('[example] configured from-podman on port');
    expect(log).toMatch(/file set \w+: already in the image at \//);
    expect(log).toContain('abctl: SIGTERM received');
    expect(log).toContain('abctl: stopped (example)');
    await expect(health('127.0.0.1', port)).rejects.toThrow();

    // Started again, the same container does not rehydrate a second time.
    podmanOk(['start', name]);
    await waitFor(async () => (await health('127.0.0.1', port)) === 'ok from-podman' && startsLogged(name) === 2, { timeoutMs: 60_000, what: 'minihttpd after podman start' });
    expect(podman(['logs', name]).err).toContain('already rehydrated in this container');
    expect(podman(['stop', '--time', '30', name], { timeoutMs: 60_000 }).code).toBe(0);
    expect(podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}'])).toBe('0');
  }, 240_000);

  it('stops cleanly (stop chain, product down, exit 0) when podman stops it while the start chain runs', async () => {
    const port = await freePort();
    const name = containerName('early-stop');
    // The image's examplelogs extension, its start held while /hold/hold exists in the container
    // (a mounted directory): the example's start has started the server by then.
    const holdDir = join(tmp.path, 'early-stop-hold');
    mkdirSync(holdDir, { recursive: true });
    writeFileSync(join(holdDir, 'hold'), '');
    const ext = join(tmp.path, 'early-stop-examplelogs.js');
    copyFileSync(join(examplePlugins, 'examplelogs', 'index.js'), ext);
    await holdingStart(ext, '/hold/hold');
    podmanOk(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:${port}`, '-v', `${holdDir}:/hold`, '-v', `${ext}:/opt/abctl/bundle/plugins/examplelogs/index.js:ro`,
      ...mounts('early-stop', { port: String(port), 'server.name': 'early', 'bind.address': '0.0.0.0' }, { 'admin.password': 'pw-early' }), reference]);
    await waitFor(async () => existsSync(join(holdDir, 'hold.waiting')) && (await health('127.0.0.1', port).catch(() => '')) === 'ok early', { timeoutMs: 60_000, what: 'the held start chain' }).catch((e: Error) => {
      throw new Error(`${e.message}\n${podman(['logs', name]).err}`);
    });

    const stop = podman(['stop', '--time', '30', name], { timeoutMs: 60_000 });
    expect(stop.code, stop.err).toBe(0);
    const log = podman(['logs', name]).err;
    expect(podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}']), log).toBe('0');
    expect(log).toContain('abctl: stop requested while starting');
    expect(log).toContain('abctl: stopped (example)');
    expect(log).not.toContain('abctl: started (');
    await expect(health('127.0.0.1', port)).rejects.toThrow();
  }, 180_000);

  it('exits 1 and says why when the mounted configuration is wrong', () => {
    const name = containerName('bad');
    const r = podman(['run', '--name', name, ...mounts('bad', { 'admin.password': 'not-here' }, {}), reference], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.err).toContain('its value belongs in the Secret');
  }, 180_000);
});

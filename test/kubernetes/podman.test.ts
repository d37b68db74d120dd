/**
 * The exported objects run: a real image of `web` (createTemplate over the small test root file
 * system, with this Node.js) loaded into podman, and its ConfigMap, Secret and Deployment as
 * exportKubernetes wrote them played with `podman kube play`. The agent in the pod must pick up
 * the plan's port from the ConfigMap and the password from the Secret, and answer its ping.
 * Services are left out: podman 4.3 ignores them.
 */
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTemplates, type WrittenImage } from '../../services/image/image-writer.js';
import { instanceLayout } from '../../services/instance.js';
import { PluginInventoryService } from '../../services/plugins/plugin-inventory-service.js';
import { abctl, examplePlugins } from '../introspection/helpers.js';
import { tempDir } from '../helpers/plugins.js';
import { freePort } from '../support/sshd.mjs';
import { cleanup, loadLayout, podman, podmanAvailable, podmanOk, testRootfs, waitFor } from '../support/podman.mjs';
import { shopFixture, WEB_PASSWORD, type ShopFixture } from './fixture.js';

const available = podmanAvailable();
let tmp: { path: string; cleanup: () => Promise<void> };
let shop: ShopFixture;
let img: WrittenImage;
let reference: string;
let imageId: string | undefined;
let kubeFile: string;
let ociLink: string | undefined;
let webPort: number;

beforeAll(async () => {
  if (!available.ok) return;
  tmp = await tempDir('abctl-k8s-podman-');
  // podman 4.3 publishes every containerPort on the host: a free one, so parallel tests do not clash.
  webPort = await freePort();
  shop = await shopFixture(tmp.path, { webPort });
  const inventory = await new PluginInventoryService(instanceLayout(shop.instance, examplePlugins)).get();
  [img] = (await createTemplates({ catalog: shop.catalog, inventory, appliance: 'web', assembly: 'shop', base: testRootfs(), outDir: join(tmp.path, 'images') })) as [WrittenImage];
  reference = `localhost/${img.repository}:${img.tag}`;
  // podman derives a name from the layout's path and wants it lower case (mkdtemp's is not).
  ociLink = join(tmpdir(), `abctl-k8s-oci-${process.pid}`);
  await rm(ociLink, { force: true });
  await symlink(img.dir, ociLink);
  imageId = loadLayout(ociLink, img.tag, reference);
  const out = join(tmp.path, 'k8s');
  const r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', out, '--image-prefix', 'localhost/abctl', '--image-tag', img.tag], shop.env);
  expect(r.code, r.err).toBe(0);
  const parts = await Promise.all(['configmap-web-config.yaml', 'secret-web-secret.yaml', 'deployment-web.yaml'].map((f) => readFile(join(out, f), 'utf8')));
  kubeFile = join(tmp.path, 'web.yaml');
  await writeFile(kubeFile, parts.join('---\n'), { mode: 0o600 });
}, 300_000);

afterAll(async () => {
  if (!available.ok || process.env.KEEP_K8S_PODMAN) return;
  if (kubeFile) podman(['kube', 'down', kubeFile], { timeoutMs: 120_000 });
  // kube play made a podman secret of the Secret object; kube down leaves it.
  podman(['secret', 'rm', 'web-secret'], { timeoutMs: 30_000 });
  // ...and the volumes it made for the ConfigMap and the Secret.
  cleanup({ images: imageId ? [imageId] : [], volumes: ['web-config', 'web-secret'] });
  if (ociLink) await rm(ociLink, { force: true });
  await tmp?.cleanup();
});

describe.skipIf(!available.ok)('the exported objects on podman', () => {
  it('plays the Deployment with its ConfigMap and Secret; the agent rehydrates with them and answers ping', async () => {
    podmanOk(['kube', 'play', kubeFile], { timeoutMs: 180_000 });
    // kube play names the Deployment's pod <deployment>-pod-0 and its container <pod>-<container>.
    const container = 'web-pod-0-web';
    const ping = ['exec', container, '/opt/abctl/node', '/opt/abctl/abctl-agent.mjs', 'ping', '--bundle', '/opt/abctl/bundle'];
    try {
      await waitFor(() => podman(ping, { timeoutMs: 60_000 }).code === 0, { timeoutMs: 180_000, intervalMs: 1000, what: 'ping to answer' });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${podman(['ps', '-a']).out}\n${podman(['logs', container]).err}`);
    }
    // The file set lands at its original path: the reference copy under the test's temp dir.
    const conf = podmanOk(['exec', container, 'cat', join(tmp.path, 'reference', 'minihttpd', 'conf', 'server.properties')]);
    expect(conf).toContain(`port=${webPort}`);
    expect(conf).toContain(`admin.password=${WEB_PASSWORD}`);
  }, 400_000);
});

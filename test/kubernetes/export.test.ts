/**
 * exportKubernetes on a real catalog (tests/kubernetes/fixture.ts) through the built CLI: every
 * object validates against the Kubernetes schemas and carries the mapping of docs/kubernetes.md.
 * Most tests use a hand-written OCI index.json per appliance (only its tag annotation is read);
 * one writes a real image with createTemplate and checks that the manifests name its tag.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abctl, examplePlugins } from '../introspection/helpers.js';
import { createTemplates } from '../../services/image/image-writer.js';
import { instanceLayout } from '../../services/instance.js';
import { PluginInventoryService } from '../../services/plugins/plugin-inventory-service.js';
import { testRootfs } from '../support/podman.mjs';
import { tempDir } from '../helpers/plugins.js';
import { shopFixture, WEB_PASSWORD, type ShopFixture } from './fixture.js';
import { parseObjects, validateObject, type Obj } from './schemas.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let shop: ShopFixture;
let out: string;
let objects: Obj[];

const byName = (kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

async function imageLayout(dir: string, tag: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${tag.padEnd(64, '0')}`, size: 1, annotations: { 'org.opencontainers.image.ref.name': tag } }] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

async function readDir(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const f of (await readdir(dir)).sort()) files.set(f, await readFile(join(dir, f), 'utf8'));
  return files;
}

beforeAll(async () => {
  tmp = await tempDir('abctl-k8s-');
  shop = await shopFixture(tmp.path);
  for (const [name, tag] of [['web', '0123456789ab'], ['proxy', 'abcdefabcdef'], ['db', '111122223333']] as const) await imageLayout(join(tmp.path, 'images', name), tag);
  out = join(tmp.path, 'k8s');
  const r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', out, '--namespace', 'shop', '--images', join(tmp.path, 'images')], shop.env);
  expect(r.code, r.err).toBe(0);
  objects = [];
  for (const [f, text] of await readDir(out)) if (f !== 'kustomization.yaml') objects.push(...parseObjects(text));
}, 120_000);
afterAll(async () => {
  await tmp.cleanup();
});

describe('exportKubernetes', () => {
  it('writes objects that all validate against the Kubernetes schemas, and a kustomization listing them', async () => {
    expect(objects.length).toBeGreaterThan(15);
    for (const o of objects) validateObject(o);
    for (const o of objects) if (o.kind !== 'PersistentVolume') expect(o.metadata.namespace).toBe('shop');
    const k = parseObjects(await readFile(join(out, 'kustomization.yaml'), 'utf8'))[0] as Obj;
    expect(k).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: 'shop' });
    expect([...k['resources']].sort()).toEqual((await readdir(out)).filter((f) => f !== 'kustomization.yaml').sort());
  });

  it('maps each appliance to a Deployment with the exact image, labels, probes and its ConfigMap', () => {
    const web = byName('Deployment', 'web');
    expect(web.spec.replicas).toBe(1);
    expect(web.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'example', 'app.kubernetes.io/managed-by': 'abctl' });
    const c = web.spec.template.spec.containers[0];
    expect(c.image).toBe('abctl/web:0123456789ab');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 18081, protocol: 'TCP' }]);
    const ping = ['/opt/abctl/node', '/opt/abctl/abctl-agent.mjs', 'ping', '--bundle', '/opt/abctl/bundle'];
    expect(c.livenessProbe.exec.command).toEqual(ping);
    expect(c.readinessProbe.exec.command).toEqual(ping);
    expect(web.spec.template.spec.terminationGracePeriodSeconds).toBe(300);
    expect(c.volumeMounts).toEqual([
      { name: 'abctl-config', mountPath: '/etc/abctl/config', readOnly: true },
      { name: 'abctl-secret', mountPath: '/etc/abctl/secret', readOnly: true },
    ]);
    const props = JSON.parse(byName('ConfigMap', 'web-config').data['properties.json']);
    expect(props).toMatchObject({ port: '18081', 'server.name': 'web-k8s' });
    expect(props).not.toHaveProperty('admin.password');
    expect(byName('Service', 'web-http').spec).toEqual({ type: 'ClusterIP', selector: web.spec.selector.matchLabels, ports: [{ name: 'http', port: 18081, targetPort: 18081, protocol: 'TCP' }] });
  });

  it('puts passwords only into the Secret file (0600): no other file holds the value', async () => {
    const secret = byName('Secret', 'web-secret');
    expect(JSON.parse(Buffer.from(secret.data['properties.json'], 'base64').toString('utf8'))).toEqual({ 'admin.password': WEB_PASSWORD });
    expect((await stat(join(out, 'secret-web-secret.yaml'))).mode & 0o777).toBe(0o600);
    for (const [f, text] of await readDir(out)) {
      if (f === 'secret-web-secret.yaml') continue;
      expect(text, f).not.toContain(WEB_PASSWORD);
      expect(text, f).not.toContain('change-me'); // the introspected value either
      expect((await stat(join(out, f))).mode & 0o777, f).toBe(0o644);
    }
  });

  it('turns connections into late bindings naming the peers\' Services and ports', () => {
    const bindings = JSON.parse(byName('ConfigMap', 'proxy-config').data['bindings.json']);
    expect(bindings.outputs.backend).toEqual([{ appliance: 'web', input: 'http', external: false, hostNames: ['web-http'], addresses: [], port: 18081, properties: {} }]);
    expect(bindings.outputs.cache[0]).toMatchObject({ appliance: 'db', hostNames: ['db-redis'], port: 6379 });
    expect(bindings.outputs.ldap[0]).toMatchObject({ appliance: 'corp-ldap', external: true, hostNames: ['corp-ldap-ldap'], properties: { host: 'ldap.corp.example' } });
    expect(bindings.outputs.metrics[0]).toMatchObject({ external: true, hostNames: ['metrics-sink-metrics'], addresses: ['10.20.30.40'], port: 8125 });
  });

  it('maps external resources to an ExternalName Service (host name) or a Service with an EndpointSlice (address)', () => {
    expect(byName('Service', 'corp-ldap-ldap').spec).toEqual({ type: 'ExternalName', externalName: 'ldap.corp.example' });
    expect(byName('Service', 'metrics-sink-metrics').spec).toEqual({ ports: [{ name: 'metrics', port: 8125, protocol: 'TCP', targetPort: 8125 }] });
    const slice = byName('EndpointSlice', 'metrics-sink-metrics-1');
    expect(slice.metadata.labels?.['kubernetes.io/service-name']).toBe('metrics-sink-metrics');
    expect(slice).toMatchObject({ addressType: 'IPv4', endpoints: [{ addresses: ['10.20.30.40'] }], ports: [{ name: 'metrics', port: 8125 }] });
  });

  it('maps scalability to replicas and an autoscaler, and anti-affinity to podAntiAffinity', () => {
    const proxy = byName('Deployment', 'proxy');
    expect(proxy.spec.replicas).toBe(3);
    expect(byName('HorizontalPodAutoscaler', 'proxy').spec).toMatchObject({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'proxy' }, minReplicas: 1, maxReplicas: 5 });
    expect(proxy.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: proxy.spec.selector.matchLabels }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(proxy.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '128Mi' } });
    expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'web')).toBe(false);
  });

  it('makes an appliance with a stateful file set a StatefulSet with a seeded volume per pod, and an NFS file set a claim on the plan\'s export', () => {
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'db')).toBe(false);
    const db = byName('StatefulSet', 'db');
    expect(db.spec.serviceName).toBe('db');
    expect(byName('Service', 'db').spec.clusterIP).toBe('None');
    expect(db.spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'fs-data', labels: db.spec.selector.matchLabels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]);
    const pod = db.spec.template.spec;
    expect(pod.containers[0].volumeMounts).toEqual(expect.arrayContaining([{ name: 'fs-data', mountPath: '/var/lib/db' }, { name: 'fs-uploads', mountPath: '/srv/uploads' }]));
    expect(pod.initContainers[0]).toMatchObject({ name: 'abctl-seed', image: 'abctl/db:111122223333', volumeMounts: [{ name: 'fs-data', mountPath: '/abctl-seed/0' }] });
    expect(pod.initContainers[0].command[2]).toContain("cp -a '/var/lib/db/.' /abctl-seed/0/");
    expect(pod.volumes).toContainEqual({ name: 'fs-uploads', persistentVolumeClaim: { claimName: 'db-uploads' } });
    expect(byName('PersistentVolumeClaim', 'db-uploads').spec).toEqual({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: 'shop-db-uploads' });
    expect(byName('PersistentVolume', 'shop-db-uploads').spec).toMatchObject({ accessModes: ['ReadWriteMany'], nfs: { server: 'nfs.corp.example', path: '/exports/shop' }, claimRef: { namespace: 'shop', name: 'db-uploads' } });
  });

  it('maps vnets to NetworkPolicies over the pods attached to them', () => {
    const front = byName('NetworkPolicy', 'vnet-front');
    expect(front.spec).toEqual({
      podSelector: { matchLabels: { 'vnet.abctl.io/front': 'true' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'vnet.abctl.io/front': 'true' } } }] }, { from: [{ ipBlock: { cidr: '10.1.0.0/24' } }] }],
    });
    expect(byName('NetworkPolicy', 'vnet-default').spec.ingress).toHaveLength(1);
    expect(byName('Deployment', 'proxy').spec.template.metadata.labels).toMatchObject({ 'vnet.abctl.io/default': 'true', 'vnet.abctl.io/front': 'true' });
    expect(byName('Deployment', 'web').spec.template.metadata.labels).not.toHaveProperty('vnet.abctl.io/front');
  });

  it('writes the same bytes for the same inputs, replaces its own earlier export, and refuses a foreign directory', async () => {
    const again = join(tmp.path, 'k8s-again');
    const args = ['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--namespace', 'shop', '--images', join(tmp.path, 'images')];
    expect(abctl([...args, '--out', again], shop.env).code).toBe(0);
    expect(await readDir(again)).toEqual(await readDir(out));
    const r = abctl([...args, '--out', again, '--json'], shop.env);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ out: again, namespace: 'shop', files: expect.arrayContaining([{ file: 'secret-web-secret.yaml', objects: [{ kind: 'Secret', name: 'web-secret' }], secret: true }]) });
    const foreign = join(tmp.path, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    const refused = abctl([...args, '--out', foreign], shop.env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('this directory holds files abctl exportKubernetes did not write; it is not overwritten');
  });

  it('writes one all.yaml and a 0600 secrets.yaml with --single-file, with the prefix and tag given', async () => {
    const single = join(tmp.path, 'single');
    const r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', single, '--single-file', '--image-prefix', 'registry.example.com/shop/', '--image-tag', '2.0'], shop.env);
    expect(r.code, r.err).toBe(0);
    expect((await readdir(single)).sort()).toEqual(['all.yaml', 'kustomization.yaml', 'secrets.yaml']);
    expect((await stat(join(single, 'secrets.yaml'))).mode & 0o777).toBe(0o600);
    const all = parseObjects(await readFile(join(single, 'all.yaml'), 'utf8'));
    expect(all.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(objects.filter((o) => o.kind !== 'Secret').map((o) => `${o.kind}/${o.metadata.name}`).sort());
    expect(all.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].image).toMatch(/^registry\.example\.com\/shop\/[a-z]+:2\.0$/);
    expect(all.every((o) => o.metadata.namespace === undefined)).toBe(true);
    expect(await readFile(join(single, 'all.yaml'), 'utf8')).not.toContain(WEB_PASSWORD);
  });

  it('says which image is missing, and that images must be named at all', () => {
    let r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', join(tmp.path, 'none')], shop.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the manifests need image references: give --images DIR');
    r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', join(tmp.path, 'none'), '--images', join(tmp.path, 'images', 'web')], shop.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`there is no image of appliance "web" in ${join(tmp.path, 'images', 'web')}`);
    expect(r.err).toContain('abctl createTemplate --assembly shop --appliance web --base BASE');
  });

  it('names the exact image createTemplate wrote for a member', async () => {
    const inventory = await new PluginInventoryService(instanceLayout(shop.instance, examplePlugins)).get();
    const images = join(tmp.path, 'real-images');
    // No Node.js binary in the layer: the test needs the tag, not a runnable image.
    const [img] = await createTemplates({ catalog: shop.catalog, inventory, appliance: 'web', assembly: 'shop', base: testRootfs(), outDir: images, node: 'none' });
    expect(img?.dir).toBe(join(images, 'web'));
    const out2 = join(tmp.path, 'k8s-real');
    const r = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', out2, '--images', images, '--image-tag', 'ignored'], shop.env);
    expect(r.code, r.err).toBe(0);
    // --image-tag wins over the layouts; without it, only web has an image here.
    expect(parseObjects(await readFile(join(out2, 'deployment-web.yaml'), 'utf8'))[0]?.spec.template.spec.containers[0].image).toBe('abctl/web:ignored');
    const missing = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', join(tmp.path, 'k8s-real2'), '--images', images], shop.env);
    expect(missing.err).toContain('there is no image of appliance "proxy"');
    await mkdir(join(images, 'proxy'));
    await mkdir(join(images, 'db'));
    for (const d of ['proxy', 'db']) await writeFile(join(images, d, 'index.json'), await readFile(join(images, 'web', 'index.json')));
    const ok = abctl(['exportKubernetes', '--assembly', 'shop', '--plan', shop.planFile, '--out', join(tmp.path, 'k8s-real2'), '--images', images], shop.env);
    expect(ok.code, ok.err).toBe(0);
    const web = parseObjects(await readFile(join(tmp.path, 'k8s-real2', 'deployment-web.yaml'), 'utf8'))[0];
    expect(web?.spec.template.spec.containers[0].image).toBe(`${img?.repository}:${img?.tag}`);
    expect(img?.repository).toBe('abctl/web');
  }, 120_000);
});

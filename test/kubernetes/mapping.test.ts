/**
 * The mapping's rules without a catalog (buildManifests is pure): Kubernetes names, the vnet
 * attachment, what has no equivalent, and the `stateful` marker kept through the catalog XML.
 */
import { readFile } from 'node:fs/promises';
import fg from 'fast-glob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { createDeploymentPlan, type DeploymentPlan } from '../../core/deployment-plan/index.js';
import { mapName, portName } from '../../core/kubernetes/index.js';
import { Appliance, Assembly, ExternalResource, FileSetDefinition } from '../../core/metadata/index.js';
import { instanceLayout } from '../../services/instance.js';
import { buildManifests } from '../../services/kubernetes/module.js';
import { tempDir } from '../helpers/plugins.js';
import { validateObject, type Obj } from './schemas.js';

function assemblyOf(...apps: Appliance[]): Assembly {
  const a = new Assembly({ name: 'Shop_1' });
  for (const x of apps) a.addMember(x);
  return a;
}

function build(a: Assembly, plan: DeploymentPlan = createDeploymentPlan(a)) {
  return buildManifests(a, plan, { image: (s) => `abctl/${s.appliance.name.toLowerCase()}:t` });
}

describe('Kubernetes names', () => {
  it('maps metadata names to DNS labels and ports to IANA names', () => {
    expect(mapName('Web_Front.01')).toBe('web-front-01');
    expect(mapName('--(x)--')).toBe('x');
    expect(portName('http')).toBe('http');
    expect(portName('Admin_Console_Port')).toBe('admin-console-p');
    expect(portName('8080')).toBeUndefined();
  });

  it('refuses an appliance name Kubernetes cannot take, naming the appliance and the fix', () => {
    const err = (() => {
      try {
        build(assemblyOf(new Appliance({ name: '9lives', creator: 'example' })));
      } catch (e) {
        return e as { code: string; message: string; where: string; hint: string };
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('K8S_NAME_INVALID');
    expect(err.message).toBe('appliance "9lives" gives the appliance name "9lives", which must start with a letter');
    expect(err.where).toBe('appliance "9lives"');
    expect(err.hint).toContain('abctl addToAssembly --as NAME');
    expect(() => build(assemblyOf(new Appliance({ name: 'x'.repeat(30), creator: 'e', inputs: [{ name: 'y'.repeat(33), port: 80, protocols: ['http'] }] })))).toThrow(
      /input "y+" gives the Service name "x+-y+", which is 64 characters long; the limit for a Service name is 63/,
    );
  });

  it('refuses two members that map to one name', () => {
    expect(() => build(assemblyOf(new Appliance({ name: 'Web', creator: 'e' }), new Appliance({ name: 'web', creator: 'e' })))).toThrow(
      'appliance "web" and appliance "Web" both give the appliance name "web"',
    );
  });
});

describe('the mapping', () => {
  it('reads an interface\'s vnet property, refuses an unknown vnet, and warns about a connection across vnets', () => {
    const back = new Appliance({ name: 'back', creator: 'e', interfaces: [{ name: 'eth0', properties: [{ name: 'vnet', value: 'inner' }] }], inputs: [{ name: 'api', port: 9000, protocols: ['http'] }] });
    const front = new Appliance({ name: 'front', creator: 'e', outputs: [{ name: 'api', protocol: 'http' }] });
    const a = new Assembly({ name: 'Shop_1', vnets: [{ name: 'outer' }, { name: 'inner' }], members: [front, back] });
    a.connect('front/api', 'back/api', 'user');
    const m = build(a);
    expect(m.warnings).toContain('"front" connects to "back" but they share no vnet: the NetworkPolicies will drop that traffic (attach both to one vnet)');
    expect(m.objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['vnet-inner', 'vnet-outer']);
    expect(m.objects.find((o) => o.kind === 'NetworkPolicy')?.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'shop-1' });
    const lost = new Appliance({ name: 'lost', creator: 'e', interfaces: [{ name: 'eth0', properties: [{ name: 'vnet', value: 'nowhere' }] }] });
    expect(() => build(assemblyOf(lost))).toThrow('interface "eth0" names vnet "nowhere", which assembly "Shop_1" does not have');
  });

  it('says what has no equivalent: RAW devices, DISK_IMAGE sets, host lines; and validates what it builds', () => {
    const app = new Appliance({
      name: 'node',
      creator: 'e',
      scalability: { min: 2, target: 2, max: 4, absoluteMax: 4 },
      fileSets: [
        { name: 'raw', root: '/dev/raw', scope: 'shared', sharedType: 'RAW', captured: false },
        { name: 'disk', root: '/srv/disk', scope: 'shared', sharedType: 'DISK_IMAGE' },
      ],
    });
    const a = assemblyOf(app);
    const plan = createDeploymentPlan(a);
    const withHost = { ...plan, root: { ...plan.root, children: plan.root.children.map((c) => ({ ...c, hosts: [{ instance: '1', hostname: 'n1', address: '', target: 'local' }] })) } };
    const m = build(a, withHost);
    expect(m.warnings).toEqual([
      'appliance "node" > file set "raw": a RAW device has no Kubernetes equivalent; it is left out',
      'appliance "node" > file set "disk": a shared DISK_IMAGE has no Kubernetes equivalent; its captured files are in the image, so each pod has its own copy',
      'appliance "node": the plan\'s host lines are not used: Kubernetes schedules the pods',
      'appliance "node": no CPU requirement in the metadata, so the autoscaler has no CPU request to measure use against',
    ]);
    const hpa = m.objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as Obj;
    expect(hpa['spec']).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    for (const o of m.objects) validateObject(o as Obj);
  });

  it('gives the same objects for the same inputs', () => {
    const mk = () => build(assemblyOf(new Appliance({ name: 'a', creator: 'e', inputs: [{ name: 'http', port: 80, protocols: ['http'] }], properties: [{ name: 'z', value: '1' }, { name: 'b', value: '2' }] })));
    expect(JSON.stringify(mk())).toBe(JSON.stringify(mk()));
    const cm = mk().objects.find((o) => o.kind === 'ConfigMap') as Obj;
    expect(cm['data']['properties.json']).toBe('{\n  "b": "2",\n  "z": "1"\n}\n');
  });
});

describe('the stateful marker', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir('abctl-k8s-stateful-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('is a local file set attribute, refused on shared ones and dropped when a set becomes shared', () => {
    expect(new FileSetDefinition({ name: 'd', root: '/d' }).stateful).toBe(false);
    expect(() => new FileSetDefinition({ name: 'd', root: '/d', scope: 'shared', sharedType: 'NFS', captured: false, stateful: true })).toThrow(
      'stateful is for local file sets: a shared volume already outlives the instances',
    );
    const d = new FileSetDefinition({ name: 'd', root: '/d', stateful: true });
    expect(d.toPlain()).toMatchObject({ stateful: true });
    expect(d.with({ scope: 'shared', sharedType: 'NFS', captured: false }).stateful).toBe(false);
    expect(new FileSetDefinition({ name: 'd', root: '/d' }).toPlain()).not.toHaveProperty('stateful');
  });

  it('goes through the catalog XML and back', async () => {
    const catalog = new Catalog(instanceLayout(tmp.path));
    await catalog.putAppliance(new Appliance({ name: 'db', creator: 'e', fileSets: [{ name: 'data', root: '/var/lib/db', stateful: true }, { name: 'bin', root: '/opt/db' }] }));
    const back = await catalog.getAppliance('db');
    expect(back.getFileSet('data')?.stateful).toBe(true);
    expect(back.getFileSet('bin')?.stateful).toBe(false);
    const files = await fg('**/*.xml', { cwd: tmp.path, absolute: true });
    const xml = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
    expect(xml).toMatch(/<fileSet name="data" [^>]*stateful="true"/);
    expect(xml).not.toContain('ab:types');
  });
});

describe('the container contract', () => {
  it('uses the paths and health check the image side uses', async () => {
    const k8s = await import('../../core/kubernetes/index.js');
    const { CONTAINER } = await import('../../services/rehydration/foreground.js');
    const { HEALTHCHECK } = await import('../../services/image/image-writer.js');
    expect(k8s.PING_COMMAND).toEqual(HEALTHCHECK);
    expect([k8s.CONFIG_DIR, k8s.SECRET_DIR, k8s.PROPERTIES_FILE, k8s.BINDINGS_FILE, k8s.IMAGE_BUNDLE]).toEqual([CONTAINER.configDir, CONTAINER.secretDir, CONTAINER.propertiesFile, CONTAINER.bindingsFile, CONTAINER.bundle]);
  });

  it('sends user passwords to the Secret and says that system passwords cannot reach the container', () => {
    const app = new Appliance({
      name: 'db',
      creator: 'e',
      properties: [
        { name: 'user.pw', type: 'password', value: 'u-secret' },
        { name: 'sys.pw', type: 'password', category: 'system', value: 's-secret' },
        { name: 'sys.home', category: 'system', value: '/opt/db' },
      ],
    });
    const m = build(assemblyOf(app));
    const secret = m.objects.find((o) => o.kind === 'Secret') as Obj;
    expect(JSON.parse(Buffer.from(secret['data']['properties.json'], 'base64').toString())).toEqual({ 'user.pw': 'u-secret' });
    const cm = m.objects.find((o) => o.kind === 'ConfigMap') as Obj;
    expect(cm['data']['properties.json']).toBe('{}\n');
    expect(m.warnings).toContain('appliance "db": system password "sys.pw" cannot reach the container (images carry no password values; the mounted Secret may set user properties only)');
    expect(JSON.stringify(m.objects.filter((o) => o.kind !== 'Secret'))).not.toMatch(/u-secret|s-secret/);
  });

  it('sends a peer\'s password (an external resource\'s) to the Secret\'s peers.json, never the ConfigMap\'s bindings', () => {
    const web = new Appliance({ name: 'web', creator: 'e', outputs: [{ name: 'db', protocol: 'sql' }] });
    const pg = new ExternalResource({
      name: 'pg',
      properties: [
        { name: 'host', value: 'db.corp.example' },
        { name: 'password', type: 'password', value: 'pg-peer-secret' },
      ],
      inputs: [{ name: 'postgres', port: 5432, protocols: ['sql'] }],
    });
    const a = new Assembly({ name: 'Shop_1', members: [web, pg] });
    a.connect('web/db', 'pg/postgres', 'user');
    const m = build(a);
    expect(JSON.stringify(m.objects.filter((o) => o.kind !== 'Secret'))).not.toContain('pg-peer-secret');
    const cm = m.objects.find((o) => o.kind === 'ConfigMap') as Obj;
    const peer = JSON.parse(cm['data']['bindings.json']).outputs.db[0];
    expect(peer.properties).toEqual({ host: 'db.corp.example' });
    expect(peer.secretProperties).toEqual(['password']);
    const secret = m.objects.find((o) => o.kind === 'Secret') as Obj;
    expect(Object.keys(secret['data'])).toEqual(['peers.json']);
    expect(JSON.parse(Buffer.from(secret['data']['peers.json'], 'base64').toString())).toEqual({ db: { 'pg/postgres': { password: 'pg-peer-secret' } } });
    // The workload mounts the Secret where the container's foreground reads peers.json.
    expect(JSON.stringify(m.objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet'))).toContain('/etc/abctl/secret');
  });
});

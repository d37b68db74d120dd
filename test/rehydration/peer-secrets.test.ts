/**
 * Password values of peers in late bindings, on real files: an external resource's password
 * property is named in `secretProperties`; a bundle's bindings.json holds it sealed with the
 * bundle key, the agent opens it in memory (plugins read it as any property), without the key
 * reading it fails with BUNDLE_KEY_MISSING, log lines redact it; a podman pod's ConfigMap never
 * holds it (the Secret's peers.json does), and a container's foreground puts it into its private
 * bundle copy from there only.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LateBindings } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly, ExternalResource } from '../../core/metadata/index.js';
import { createDeploymentPlan } from '../../core/deployment-plan/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { peerInput } from '../../services/deploy/deployer.js';
import { podObjects } from '../../services/deploy/podman-target.js';
import { loadBundle } from '../../services/rehydration/agent.js';
import { BUNDLE_FORMAT_VERSION } from '../../services/rehydration/bundle-format.js';
import { BundleKey } from '../../services/rehydration/bundle-key.js';
import { writeBundleDocuments, withoutPasswords } from '../../services/rehydration/bundle.js';
import { LifecycleContexts } from '../../services/rehydration/context.js';
import { prepare } from '../../services/rehydration/foreground.js';
import { PEER_SECRETS_FILE, fillPeerSecrets, splitPeerSecrets } from '../../services/rehydration/peer-secrets.js';
import { tempDir } from '../helpers/plugins.js';

const PG_PASSWORD = 'pg-Secr3t-value';

const app = new Appliance({ name: 'web', creator: 'example', properties: [{ name: 'port', type: 'int', value: 8081 }], outputs: [{ name: 'db', protocol: 'sql' }] });
const pg = new ExternalResource({
  name: 'pg',
  type: 'ExternalPostgreSQL',
  properties: [
    { name: 'host', value: 'db.corp.example' },
    { name: 'password', type: 'password', value: PG_PASSWORD },
  ],
  inputs: [{ name: 'postgres', port: 5432, protocols: ['sql'], properties: [{ name: 'dbname', value: 'shop' }] }],
});
const assembly = new Assembly({ name: 'site', members: [app, pg] });

function bindingsOf(): LateBindings {
  const peer = peerInput(assembly, { from: 'web', output: 'db', to: 'pg', input: 'postgres', external: true });
  return {
    instance: { hostName: 'web-1', addresses: ['10.0.0.2'], index: 1 },
    outputs: { db: [{ appliance: 'pg', input: 'postgres', external: true, hostNames: ['db.corp.example'], addresses: [], port: peer.port, properties: peer.properties, secretProperties: peer.secretProperties }] },
  };
}

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await tempDir('abctl-peer-secrets-');
});
afterAll(() => tmp?.cleanup());

describe('peers\' password values', () => {
  it('are named by the deployment: an external resource\'s password property, merged with its input\'s properties', () => {
    const peer = peerInput(assembly, { from: 'web', output: 'db', to: 'pg', input: 'postgres', external: true });
    expect(peer.properties).toEqual({ host: 'db.corp.example', password: PG_PASSWORD, dbname: 'shop' });
    expect(peer.secretProperties).toEqual(['password']);
  });

  it('rest sealed in a bundle; the agent opens them with the key, refuses them without, and redacts them', async () => {
    const dir = join(tmp.path, 'bundle');
    mkdirSync(dir);
    const key = BundleKey.generate();
    await writeBundleDocuments(dir, {
      appliance: app.toPlain(),
      assembly: withoutPasswords(assembly.toPlain()),
      bindings: bindingsOf(),
      manifest: { formatVersion: BUNDLE_FORMAT_VERSION, deployment: 'd', assembly: 'site', appliance: 'web', instanceIndex: 1, chain: ['example'], plugins: [], fileSets: [], contentResources: {}, createdAt: '', sdkVersion: SDK_VERSION },
      passwordKey: key,
    });
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f), 'utf8'), f).not.toContain(PG_PASSWORD);
    const stored = JSON.parse(readFileSync(join(dir, 'bindings.json'), 'utf8')) as LateBindings;
    expect(stored.outputs['db']?.[0]?.properties['password']).toMatch(/^enc:v1:/);
    expect(stored.outputs['db']?.[0]?.properties['dbname']).toBe('shop');

    const lines: string[] = [];
    const opened = new LifecycleContexts(await loadBundle(dir, key), { operation: 'start', signal: new AbortController().signal, sink: (l) => lines.push(l) });
    const ctx = opened.for('example');
    const peer = ctx.appliance.outputs[0]?.peers[0];
    expect(peer?.properties['password']).toBe(PG_PASSWORD);
    expect(peer?.secretProperties).toEqual(['password']);
    ctx.log.info(`connecting with ${PG_PASSWORD}`);
    expect(lines.join('\n')).not.toContain(PG_PASSWORD);
    expect(lines.join('\n')).toContain('connecting with');

    const locked = new LifecycleContexts(await loadBundle(dir), { operation: 'ping', signal: new AbortController().signal, sink: () => {} });
    const lockedPeer = locked.for('example').appliance.outputs[0]?.peers[0];
    expect(lockedPeer?.properties['dbname']).toBe('shop');
    expect(() => lockedPeer?.properties['password']).toThrow(expect.objectContaining({ code: 'BUNDLE_KEY_MISSING' }));
    expect(locked.lockedPassword).toEqual({ name: 'password (of peer pg/postgres)', plugin: 'example' });
  });

  it('go to the pod\'s Secret, never its ConfigMap, and the container puts them back from there', () => {
    const objects = podObjects(
      { deployment: 'd', id: 'web-1', appliance: 'web', index: 1, ports: [], assembly, plan: createDeploymentPlan(assembly), bindings: bindingsOf() },
      'localhost/web:1',
      '10.88.0.2',
      {},
      10,
    );
    expect(JSON.stringify(objects.objects)).not.toContain(PG_PASSWORD);
    const secret = objects.secret as { data: Record<string, string> };
    const peers = JSON.parse(Buffer.from(secret.data[PEER_SECRETS_FILE] as string, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(peers).toEqual({ db: { 'pg/postgres': { password: PG_PASSWORD } } });
    const split = splitPeerSecrets(bindingsOf());
    expect(fillPeerSecrets(split.bindings, split.secrets)).toEqual(bindingsOf());
  });

  it('reach a container\'s private bundle copy from the Secret only; the bundle and the ConfigMap\'s bindings never hold them', async () => {
    const root = join(tmp.path, 'container');
    const bundleDir = join(root, 'bundle');
    mkdirSync(bundleDir, { recursive: true });
    // An image's bundle: written without a key, so without peers' password values.
    await writeBundleDocuments(bundleDir, {
      appliance: withoutPasswords(app.toPlain()),
      assembly: withoutPasswords(assembly.toPlain()),
      bindings: bindingsOf(),
      manifest: { formatVersion: BUNDLE_FORMAT_VERSION, deployment: 'image', assembly: 'site', appliance: 'web', instanceIndex: 1, chain: ['example'], plugins: [], fileSets: [], contentResources: {}, createdAt: '', sdkVersion: SDK_VERSION },
    });
    expect(readFileSync(join(bundleDir, 'bindings.json'), 'utf8')).not.toContain(PG_PASSWORD);
    const env = { configDir: join(root, 'config'), secretDir: join(root, 'secret'), stateDir: join(root, 'state'), runDir: join(root, 'run') };
    const pod = podObjects({ deployment: 'd', id: 'web-1', appliance: 'web', index: 1, ports: [], assembly, plan: createDeploymentPlan(assembly), bindings: bindingsOf() }, 'localhost/web:1', '10.88.0.2', {}, 10);
    // The pod's ConfigMap and Secret, mounted as kube play mounts them (one file per key).
    const configMap = pod.objects[0] as { data: Record<string, string> };
    mkdirSync(env.configDir);
    mkdirSync(env.secretDir);
    for (const [k, v] of Object.entries(configMap.data)) writeFileSync(join(env.configDir, k), v);
    for (const [k, v] of Object.entries((pod.secret as { data: Record<string, string> }).data)) writeFileSync(join(env.secretDir, k), Buffer.from(v, 'base64'));
    const { runBundle } = await prepare(bundleDir, env);
    const run = JSON.parse(readFileSync(join(runBundle, 'bindings.json'), 'utf8')) as LateBindings;
    expect(run.outputs['db']?.[0]?.properties).toEqual({ host: 'db.corp.example', password: PG_PASSWORD, dbname: 'shop' });
    expect(readFileSync(join(bundleDir, 'bindings.json'), 'utf8')).not.toContain(PG_PASSWORD);
    const state = await loadBundle(runBundle);
    const lines: string[] = [];
    const ctx = new LifecycleContexts(state, { operation: 'start', signal: new AbortController().signal, sink: (l) => lines.push(l) }).for('example');
    expect(ctx.appliance.outputs[0]?.peers[0]?.properties['password']).toBe(PG_PASSWORD);
    ctx.log.info(`pw ${PG_PASSWORD}`);
    expect(lines.join('\n')).not.toContain(PG_PASSWORD);
  });
});

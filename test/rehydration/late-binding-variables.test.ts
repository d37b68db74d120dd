/**
 * Late-binding template variables at rehydration: renderContentResource gives a template the
 * effective properties and the `ovab.` variables of this instance and its connected outputs,
 * and a plugin's `variables` add to them (SDK 1.2) rather than replace them. Real files.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LateBindings, LifecycleContext } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { lateBindingValues } from '../../core/templates/index.js';
import { LifecycleContexts } from '../../services/rehydration/context.js';
import { tempDir } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let ctx: LifecycleContext;

const bindings: LateBindings = {
  instance: { hostName: 'web-2.test', addresses: ['10.0.0.12', 'fd00::12'], index: 2 },
  outputs: {
    db: [
      { appliance: 'db', input: 'sql', external: false, hostNames: ['db-1.test', 'db-2.test'], addresses: ['10.0.0.20', '10.0.0.21'], port: 5432, properties: {} },
    ],
  },
};

beforeAll(async () => {
  tmp = await tempDir('abctl-late-vars-');
  mkdirSync(join(tmp.path, 'content'));
  writeFileSync(
    join(tmp.path, 'content', 'peers.conf'),
    'me={{[ovab.instance.hostName]}}/{{[ovab.instance.address]}} #{{[ovab.instance.index]}} all={{[ovab.instance.addresses]}}\n' +
      'db={{[ovab.output.db.hostName]}} dbs={{[ovab.output.db.hostNames]}} at={{[ovab.output.db.addresses]}}:{{[ovab.output.db.port]}}\n' +
      'name={{[server.name]}} pw={{[admin.password]}}\n',
  );
  const appliance = new Appliance({
    name: 'web',
    creator: 'example',
    properties: [
      { name: 'server.name', value: 'www2' },
      { name: 'admin.password', type: 'password', value: 'pa55' },
    ],
    contentResources: [{ name: 'peers.conf', path: 'peers.conf', template: true }],
    outputs: [{ name: 'db', protocol: 'sql' }],
  });
  const state = {
    bundleDir: tmp.path,
    manifest: {
      formatVersion: 1, deployment: 'd', assembly: 'site', appliance: 'web', instanceIndex: 2, chain: ['example'], plugins: [], fileSets: [],
      contentResources: { 'peers.conf': 'content/peers.conf' }, createdAt: '', sdkVersion: SDK_VERSION,
    },
    appliance,
    assembly: new Assembly({ name: 'site', members: [appliance] }),
    bindings,
  };
  ctx = new LifecycleContexts(state, { operation: 'rehydrate', signal: new AbortController().signal, sink: () => {} }).for('example');
});
afterAll(() => tmp.cleanup());

describe('late-binding variables', () => {
  it('are in every render; the plugin adds the password, and the file becomes 0600', async () => {
    const dest = join(tmp.path, 'out', 'peers.conf');
    // Without the password the render fails: defaults never include one.
    await expect(ctx.renderContentResource('peers.conf', dest)).rejects.toMatchObject({ code: 'TEMPLATE_VARIABLE_NO_VALUE', variable: 'admin.password' });
    await ctx.renderContentResource('peers.conf', dest, { variables: { 'admin.password': ctx.password('admin.password') } });
    expect(readFileSync(dest, 'utf8')).toBe(
      'me=web-2.test/10.0.0.12 #2 all=10.0.0.12,fd00::12\n' + 'db=db-1.test dbs=db-1.test,db-2.test at=10.0.0.20,10.0.0.21:5432\n' + 'name=www2 pw=pa55\n',
    );
  });

  it('a value the deployment does not know is left unset, not printed empty', () => {
    const values = lateBindingValues({ instance: { hostName: '', addresses: [], index: 1 }, outputs: { ldap: [{ appliance: 'ldap', input: 'ldap', external: true, hostNames: ['ldap.example'], addresses: [], port: 389, properties: {} }] } });
    expect(Object.fromEntries(values)).toEqual({
      'ovab.instance.index': 1,
      'ovab.output.ldap.hostName': 'ldap.example',
      'ovab.output.ldap.hostNames': 'ldap.example',
      'ovab.output.ldap.port': 389,
    });
  });
});

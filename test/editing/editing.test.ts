import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Container } from 'inversify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { catalogModule } from '../../services/catalog/module.js';
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly, ExternalResource } from '../../core/metadata/index.js';
import { DeploymentPlanService, EditingService, editingModule } from '../../services/editing/index.js';
import { InstanceLayout, instanceLayout } from '../../services/instance.js';
import { pluginsModule } from '../../services/plugins/module.js';
import { tempDir } from '../helpers/plugins.js';
import { dbAppliance, webAppliance, wlsDomain } from '../metadata/fixtures.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let catalog: Catalog;
let editing: EditingService;
let plans: DeploymentPlanService;

beforeEach(async () => {
  tmp = await tempDir();
  const container = new Container();
  container.bind<InstanceLayout>(InstanceLayout).toConstantValue(instanceLayout(join(tmp.path, 'instance')));
  container.load(pluginsModule, catalogModule, editingModule);
  catalog = container.get(Catalog);
  editing = container.get(EditingService);
  plans = container.get(DeploymentPlanService);
  await catalog.commit({ put: [webAppliance(), dbAppliance(), wlsDomain()] });
});
afterEach(() => tmp.cleanup());

async function rejection(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

async function shop(): Promise<Assembly> {
  await editing.createAssembly('shop', { description: 'web shop' });
  await editing.addToAssembly('shop', 'web');
  await editing.addToAssembly('shop', 'db');
  return (await catalog.getAssembly('shop')) as Assembly;
}

describe('EditingService', () => {
  it('creates an assembly, adds copies of catalog objects and saves them', async () => {
    await shop();
    await editing.addToAssembly('shop', 'domain');
    await editing.addToAssembly('shop', 'db', { as: 'db2' });
    const a = (await catalog.getAssembly('shop')) as Assembly;
    expect(a.description).toBe('web shop');
    expect(a.members.map((m) => m.name)).toEqual(['web', 'db', 'domain', 'db2']);
    expect(a.getMember('db2')).toBeInstanceOf(Appliance);
    expect(await catalog.findUsers('web')).toEqual(['shop']);
  });

  it('refuses duplicate names (members and catalog objects) and adding an assembly to itself', async () => {
    await shop();
    expect((await rejection(editing.addToAssembly('shop', 'web'))).code).toBe('NAME_DUPLICATE');
    expect((await rejection(editing.createAssembly('web'))).message).toContain('already has an appliance named "web"');
    expect((await rejection(editing.addToAssembly('shop', 'shop'))).code).toBe('ASSEMBLY_CYCLE');
    expect((await rejection(editing.addToAssembly('shop', 'nothing'))).hint).toContain('describeCatalog');
    expect((await rejection(editing.addToAssembly('web', 'db'))).message).toBe('"web" is an appliance, not an assembly');
  });

  it('connects compatible endpoints and refuses incompatible ones, naming the missing connection property', async () => {
    await shop();
    const c = await editing.connectEndpoints('shop', 'web/jdbc', 'db/sql');
    expect(c).toMatchObject({ from: { path: ['web'], endpoint: 'jdbc' }, to: { path: ['db'], endpoint: 'sql' } });
    expect(((await catalog.getAssembly('shop')) as Assembly).connections).toHaveLength(1);
    // ldap needs host, port and bindPassword; db's sql input has host and port but no bindPassword.
    const err = await rejection(editing.connectEndpoints('shop', 'web/ldap', 'db/sql'));
    expect(err.code).toBe('CONNECTION_INCOMPATIBLE');
    expect(err.message).toContain('input "sql" lacks connection property "bindPassword" that output "ldap" needs');
    expect(err.hint).toContain('external resource');
    expect(((await catalog.getAssembly('shop')) as Assembly).connections).toHaveLength(1);
    await editing.disconnectEndpoints('shop', 'web/jdbc');
    expect(((await catalog.getAssembly('shop')) as Assembly).connections).toHaveLength(0);
  });

  it('creates an external resource seeded from the output and connected to it', async () => {
    await shop();
    const ext = await editing.createExternalResource('shop', 'web/ldap', 'corp-ldap', { type: 'ExternalLDAP' });
    expect(ext.inputs[0]?.properties.names()).toEqual(['host', 'port', 'bindPassword']);
    const a = (await catalog.getAssembly('shop')) as Assembly;
    expect(a.getMember('corp-ldap')).toBeInstanceOf(ExternalResource);
    expect(a.connections.map((c) => `${c.from.path.join('/')}/${c.from.endpoint}->${c.to.path.join('/')}/${c.to.endpoint}`)).toEqual(['web/ldap->corp-ldap/ldap']);
    expect((await rejection(editing.createExternalResource('shop', 'web/ldap', 'x', { type: 'LDAP' }))).message).toContain('must start with "External"');
  });

  it('adds vnets, and removes members with their connections', async () => {
    await shop();
    await editing.addVnet('shop', 'backend', '10.1.0.0/24');
    await editing.connectEndpoints('shop', 'web/jdbc', 'db/sql');
    const r = await editing.removeFromAssembly('shop', 'db');
    expect(r.kind).toBe('appliance');
    expect(r.connections).toHaveLength(1);
    const a = (await catalog.getAssembly('shop')) as Assembly;
    expect(a.vnets.map((v) => v.name)).toEqual(['default', 'backend']);
    expect(a.members.map((m) => m.name)).toEqual(['web']);
    expect((await rejection(editing.removeFromAssembly('shop', 'db'))).hint).toBe('its members: web');
    expect((await rejection(editing.addVnet('shop', 'bad', '10.0.0.0'))).code).toBe('VNET_INVALID');
  });

  it('edits nested members by path', async () => {
    await shop();
    await editing.createAssembly('tier');
    await editing.addToAssembly('tier', 'db', { as: 'rdb' });
    await editing.addToAssembly('shop', 'tier');
    await editing.setProperty({ assembly: 'shop', path: 'tier/rdb/input/sql' }, 'user', 'reports');
    await editing.removeFromAssembly('shop', 'tier/rdb');
    const a = (await catalog.getAssembly('shop')) as Assembly;
    expect((a.getMember('tier') as Assembly).members).toEqual([]);
  });

  it('sets and unsets user properties on assemblies, members, endpoints and catalog appliances', async () => {
    await shop();
    await editing.setProperty({ assembly: 'shop', path: 'web/input/http' }, 'port', '9090');
    await editing.setProperty({ assembly: 'shop', path: 'db' }, 'db.password', 'n3w-secret');
    const a = (await catalog.getAssembly('shop')) as Assembly;
    expect((a.getMember('web') as Appliance).getInput('http')?.properties.getValue('port')).toBe('9090');
    expect((a.getMember('db') as Appliance).properties.getValue('db.password')).toBe('n3w-secret');
    // Stored encrypted: the clear text is nowhere in the catalog files.
    const dbDoc = await readFile(join(catalog.dir, 'assemblies', 'shop', 'members', 'db', 'appliance.xml'), 'utf8');
    expect(dbDoc).not.toContain('n3w-secret');
    const change = await editing.unsetProperty({ assembly: 'shop', path: 'web/input/http' }, 'port');
    expect(change.property.hasValue).toBe(false);
    expect(change.where).toBe('assembly "shop" > appliance "web" > input "http"');
    // A catalog appliance on its own; the copy in the assembly is not affected.
    await editing.setProperty({ appliance: 'db', path: 'input/sql' }, 'user', 'app');
    expect((await catalog.getAppliance('db')).getInput('sql')?.properties.getValue('user')).toBe('app');
    expect(((await catalog.getAssembly('shop')) as Assembly).getMember('db')).toBeInstanceOf(Appliance);
    expect((((await catalog.getAssembly('shop')) as Assembly).getMember('db') as Appliance).getInput('sql')?.properties.getValue('user')).toBeUndefined();
  });

  it('refuses system properties, fileRefs, bad values and unknown properties with the full path', async () => {
    await shop();
    const sys = await rejection(editing.setProperty({ assembly: 'shop', path: 'db' }, 'db.version', '16'));
    expect(sys.code).toBe('PROPERTY_READ_ONLY');
    expect(sys.message).toContain('system property "db.version"');
    expect(sys.where).toBe('assembly "shop" > appliance "db" > property "db.version"');
    expect((await rejection(editing.unsetProperty({ assembly: 'shop', path: 'db' }, 'db.version'))).code).toBe('PROPERTY_READ_ONLY');
    const bad = await rejection(editing.setProperty({ assembly: 'shop', path: 'web/input/http' }, 'port', 'abc'));
    expect(bad.code).toBe('PROPERTY_VALUE_INVALID');
    expect(bad.where).toBe('assembly "shop" > appliance "web" > input "http" > property "port"');
    const unknown = await rejection(editing.setProperty({ assembly: 'shop', path: 'web' }, 'nope', 'x'));
    expect(unknown.code).toBe('PROPERTY_UNKNOWN');
    expect((await rejection(editing.setProperty({ assembly: 'shop', appliance: 'web' }, 'x', 'y'))).code).toBe('OBJECT_PATH_INVALID');
    // The failed edits changed nothing.
    expect(((await catalog.getAssembly('shop')) as Assembly).getMember('db')).toBeInstanceOf(Appliance);
    expect((((await catalog.getAssembly('shop')) as Assembly).getMember('db') as Appliance).properties.getValue('db.version')).toBe('15');
  });

  it('surfaces the model refusing to edit an atomic assembly', async () => {
    await shop();
    const add = await rejection(editing.addToAssembly('domain', 'web'));
    expect(add.code).toBe('ATOMIC_NOT_EDITABLE');
    expect((await rejection(editing.removeFromAssembly('domain', 'ms1'))).code).toBe('ATOMIC_NOT_EDITABLE');
    expect((await rejection(editing.connectEndpoints('domain', 'ms1/admin', 'admin/t3'))).code).toBe('ATOMIC_NOT_EDITABLE');
    expect((await rejection(editing.addVnet('domain', 'x'))).code).toBe('ATOMIC_NOT_EDITABLE');
    // Inside an assembly: joining two endpoints of the same atomic member is refused too.
    await editing.addToAssembly('shop', 'domain');
    const err = await rejection(editing.disconnectEndpoints('shop', 'domain/ms1/admin'));
    expect(err.code).toBe('ATOMIC_NOT_EDITABLE');
    // Its user properties stay editable (they are deployment values, not its shape).
    await editing.setProperty({ assembly: 'domain', path: 'admin/input/t3' }, 'host', 'adm');
  });

  it('refuses to delete an appliance an assembly uses, naming the assembly and the fix', async () => {
    await shop();
    const err = await rejection(editing.deleteAppliance('web'));
    expect(err.code).toBe('APPLIANCE_IN_USE');
    expect(err.message).toBe('appliance "web" cannot be deleted: assembly "shop" uses it');
    expect(err.hint).toContain('abctl removeFromAssembly --assembly shop --member web');
    expect(await catalog.hasAppliance('web')).toBe(true);
    await editing.removeFromAssembly('shop', 'web');
    await editing.deleteAppliance('web');
    expect(await catalog.hasAppliance('web')).toBe(false);
    expect((await rejection(editing.deleteAppliance('web'))).code).toBe('CATALOG_NOT_FOUND');
  });

  it('deletes assemblies, refusing an atomic assembly still used by another assembly', async () => {
    await shop();
    await editing.addToAssembly('shop', 'domain');
    expect((await rejection(editing.deleteAssembly('domain'))).code).toBe('ASSEMBLY_IN_USE');
    await editing.deleteAssembly('shop');
    await editing.deleteAssembly('domain');
    expect(await catalog.hasAssembly('shop')).toBe(false);
    expect((await rejection(editing.deleteAssembly('shop'))).code).toBe('ASSEMBLY_UNKNOWN');
  });

  it('keeps concurrent edits: each load-change-save sees the previous one', async () => {
    await shop();
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => editing.addVnet('shop', n)));
    expect(((await catalog.getAssembly('shop')) as Assembly).vnets.map((v) => v.name).sort()).toEqual(['a', 'b', 'c', 'd', 'default']);
  });
});

describe('DeploymentPlanService', () => {
  it('writes a plan with passwords encrypted by the instance key, and validates it', async () => {
    await shop();
    const file = join(tmp.path, 'plan.xml');
    await plans.create('shop', file);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('pg-secret-42');
    expect(text).toMatch(/name="db.password" type="password" required="true" value="enc:v1:/);
    expect((await rejection(plans.create('shop', file))).code).toBe('PLAN_EXISTS');
    // web's "shared" file set is captured NFS: its volume comes from the plan.
    expect((await plans.validate('shop', file)).problems.map((p) => p.code)).toEqual(['PLAN_MOUNT_TARGET_MISSING']);
    await writeFile(file, text.replace('fileSet="shared" target=""', 'fileSet="shared" target="nfs:/export/shop"'));
    expect((await plans.validate('shop', file)).problems).toEqual([]);
  });

  it('setPassword puts an encrypted password in the plan file', async () => {
    await shop();
    await editing.createExternalResource('shop', 'web/ldap', 'corp-ldap');
    await editing.unsetProperty({ assembly: 'shop', path: 'corp-ldap/input/ldap' }, 'bindPassword');
    const file = join(tmp.path, 'plan.xml');
    await plans.create('shop', file);
    await writeFile(file, (await readFile(file, 'utf8')).replace('fileSet="shared" target=""', 'fileSet="shared" target="nfs:/export/shop"'));
    expect((await plans.validate('shop', file)).problems.map((p) => p.where)).toEqual(['assembly "shop" > external resource "corp-ldap" > input "ldap" > property "bindPassword"']);
    await plans.setPassword('shop', file, 'corp-ldap/input/ldap', 'bindPassword', 'b1nd');
    expect(await readFile(file, 'utf8')).not.toContain('b1nd');
    expect((await plans.validate('shop', file)).problems).toEqual([]);
  });

  it('refuses plans for atomic assemblies and appliances', async () => {
    expect((await rejection(plans.create('domain', join(tmp.path, 'p.xml')))).message).toContain('atomic assembly');
    expect((await rejection(plans.create('web', join(tmp.path, 'p.xml')))).message).toContain('is an appliance');
  });
});

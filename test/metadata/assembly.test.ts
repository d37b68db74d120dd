import { describe, it, expect } from 'vitest';
import {
  Appliance,
  Assembly,
  AtomicAssembly,
  ExternalResource,
  Output,
  checkDeployable,
  findMissingRequired,
  describeMissing,
  parseEndpointRef,
  formatEndpointRef,
  DEFAULT_VNET_NAME,
} from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';
import { dbAppliance, fullAssembly, webAppliance, wlsDomain } from './fixtures.js';

describe('assembly members', () => {
  it('names are unique across member kinds', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance()] });
    const e = expectUserError(() => a.addMember(new ExternalResource({ name: 'web' })), 'NAME_DUPLICATE');
    expect(e.where).toBe('assembly "A"');
  });

  it('lists members by kind', () => {
    const a = fullAssembly();
    expect(a.appliances.map((m) => m.name)).toEqual(['web', 'db']);
    expect(a.atomicAssemblies.map((m) => m.name)).toEqual(['domain']);
    expect(a.subAssemblies.map((m) => m.name)).toEqual(['reporting']);
    expect(a.externalResources.map((m) => m.name)).toEqual(['corp-ldap']);
  });

  it('an assembly cannot contain itself', () => {
    const outer = new Assembly({ name: 'outer' });
    const inner = new Assembly({ name: 'inner' });
    outer.addMember(inner);
    expectUserError(() => inner.addMember(outer), 'ASSEMBLY_CYCLE');
    expectUserError(() => outer.addMember(outer), 'ASSEMBLY_CYCLE');
  });

  it('removing a member removes its connections', () => {
    const a = fullAssembly();
    const removed = a.removeMember('db');
    expect(removed.map((c) => formatEndpointRef(c.to))).toEqual(['db/sql']);
    expect(a.connections.map((c) => formatEndpointRef(c.from))).toEqual(['web/ldap']);
  });

  it('gets a default vnet; CIDRs are checked; the last vnet stays', () => {
    const a = new Assembly({ name: 'A' });
    expect(a.vnets.map((v) => v.name)).toEqual([DEFAULT_VNET_NAME]);
    a.addVnet({ name: 'v6', cidr: 'fd00::/64' });
    expectUserError(() => a.addVnet({ name: 'bad', cidr: '10.0.0.0/33' }), 'VNET_INVALID');
    expectUserError(() => a.addVnet({ name: 'bad', cidr: 'x' }), 'VNET_INVALID');
    a.removeVnet('v6');
    expectUserError(() => a.removeVnet(DEFAULT_VNET_NAME), 'VNET_REQUIRED');
  });
});

describe('connections', () => {
  it('references use / and may go into nested assemblies', () => {
    expect(parseEndpointRef('tier/db.main/sql')).toEqual({ path: ['tier', 'db.main'], endpoint: 'sql' });
    expectUserError(() => parseEndpointRef('justone'), 'CONNECTION_REF_INVALID');
    expectUserError(() => parseEndpointRef('a//b'), 'CONNECTION_REF_INVALID');
    const a = fullAssembly();
    a.addMember(webAppliance('web2'));
    a.connect('web2/jdbc', 'reporting/rdb/sql', 'user');
    expect(a.connections.some((c) => formatEndpointRef(c.to) === 'reporting/rdb/sql')).toBe(true);
  });

  it('both ends must exist and be an output and an input', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance(), dbAppliance()] });
    expectUserError(() => a.connect('nope/jdbc', 'db/sql', 'user'), 'CONNECTION_ENDPOINT_UNKNOWN');
    expectUserError(() => a.connect('web/nope', 'db/sql', 'user'), 'CONNECTION_ENDPOINT_UNKNOWN');
    expectUserError(() => a.connect('db/sql', 'web/http', 'user'), 'CONNECTION_ENDPOINT_UNKNOWN');
    expectUserError(() => a.connect('web/jdbc', 'db/nope', 'user'), 'CONNECTION_ENDPOINT_UNKNOWN');
  });

  it('refuses incompatible endpoints with the missing property names', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance()] });
    a.addMember(new Appliance({ name: 'cache', creator: 'redis', inputs: [{ name: 'in', port: 6379, protocols: ['JDBC'], properties: [{ name: 'host' }] }] }));
    const e = expectUserError(() => a.connect('web/jdbc', 'cache/in', 'user'), 'CONNECTION_INCOMPATIBLE');
    expect(e.message).toContain('lacks connection property "port"');
    expect(e.where).toBe('assembly "A" > connection "web/jdbc -> cache/in"');
  });

  it('an output connects once', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance(), dbAppliance(), dbAppliance('db2')] });
    a.connect('web/jdbc', 'db/sql', 'user');
    expectUserError(() => a.connect('web/jdbc', 'db2/sql', 'user'), 'CONNECTION_OUTPUT_IN_USE');
    a.disconnect('web/jdbc');
    a.connect('web/jdbc', 'db2/sql', 'user');
  });

  it('external resources are seeded from the output and connected', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance()] });
    const ext = a.addExternalResourceFor('web/ldap', 'ldap', 'user', { type: 'ExternalLDAP' });
    expect(ext.type).toBe('ExternalLDAP');
    expect(ext.inputs[0]?.properties.names()).toEqual(['host', 'port', 'bindPassword']);
    expect(ext.inputs[0]?.properties.get('port')?.value).toBe('389');
    expect(ext.inputs[0]?.port).toBeUndefined();
    expect(a.connections.map((c) => `${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}`)).toEqual(['web/ldap -> ldap/ldap']);
    expectUserError(() => new ExternalResource({ name: 'x', type: 'LDAP' }), 'APPLIANCE_TYPE_INVALID');
    expect(ExternalResource.forOutput('e', new Output({ name: 'o', protocol: 'TCP' })).type).toBe('External');
  });
});

describe('atomic assemblies', () => {
  it('siblings share the first appliance file sets', () => {
    const d = wlsDomain();
    expect(d.primary?.name).toBe('admin');
    expect(d.getAppliance('ms1')?.fileSetsFrom).toBe('admin');
    expect(d.getAppliance('ms1')?.fileSets).toEqual([]);
  });

  it('every appliance after the first must be a sibling', () => {
    const d = wlsDomain();
    expectUserError(() => d.addAppliance({ name: 'ms2', creator: 'weblogic' }, 'plugin'), 'ATOMIC_SIBLING_INVALID');
    expectUserError(() => d.addAppliance({ name: 'ms2', creator: 'weblogic', fileSetsFrom: 'ms1' }, 'plugin'), 'ATOMIC_SIBLING_INVALID');
    expectUserError(() => new AtomicAssembly({ name: 'x', creator: 'p', appliances: [{ name: 'a', creator: 'p', fileSetsFrom: 'z' }] }), 'ATOMIC_SIBLING_INVALID');
    expectUserError(() => d.removeAppliance('admin', 'plugin'), 'ATOMIC_SIBLING_INVALID');
  });

  it('users cannot change its appliances or connections', () => {
    const d = wlsDomain();
    expectUserError(() => d.createSibling({ name: 'ms2', creator: 'weblogic' }, 'user'), 'ATOMIC_NOT_EDITABLE');
    expectUserError(() => d.removeAppliance('ms1', 'user'), 'ATOMIC_NOT_EDITABLE');
    expectUserError(() => d.connect('ms1/admin', 'admin/t3', 'user'), 'ATOMIC_NOT_EDITABLE');
    expectUserError(() => d.disconnect('ms1/admin', 'user'), 'ATOMIC_NOT_EDITABLE');
    d.disconnect('ms1/admin', 'plugin');
    expect(d.connections).toEqual([]);
  });

  it('user property edits still work inside it', () => {
    const d = wlsDomain();
    d.properties.add({ name: 'domain.name', value: 'base' }, 'user');
    expect(d.properties.getValue('domain.name')).toBe('base');
  });

  it('the containing assembly cannot re-wire it', () => {
    const a = fullAssembly();
    const e = expectUserError(() => a.connect('domain/ms1/admin', 'domain/admin/t3', 'user'), 'ATOMIC_NOT_EDITABLE');
    expect(e.message).toContain('inside atomic assembly "domain"');
    expectUserError(() => a.disconnect('domain/ms1/admin'), 'ATOMIC_NOT_EDITABLE');
  });
});

describe('deployability', () => {
  it('only a non-empty (top-level, non-atomic) assembly is deployable', () => {
    expectUserError(() => checkDeployable(webAppliance()), 'NOT_DEPLOYABLE');
    expectUserError(() => checkDeployable(wlsDomain()), 'NOT_DEPLOYABLE');
    expectUserError(() => checkDeployable(new Assembly({ name: 'empty' })), 'NOT_DEPLOYABLE');
  });

  it('names every required property without a value', () => {
    const a = new Assembly({ name: 'A', members: [webAppliance(), dbAppliance()] });
    a.getMember('db');
    (a.getMember('db') as Appliance).properties.unset('db.password', 'plugin');
    const missing = findMissingRequired(a).map(describeMissing);
    expect(missing).toEqual(['assembly "A" > appliance "db" > property "db.password"']);
    const e = expectUserError(() => checkDeployable(a), 'REQUIRED_PROPERTIES_MISSING');
    expect(e.message).toContain('appliance "db" > property "db.password"');
    expect(() => checkDeployable(a, { isProvided: (m) => m.property === 'db.password' })).not.toThrow();
  });
});

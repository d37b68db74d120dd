import { describe, it, expect } from 'vitest';
import { Appliance, DEFAULT_INTERFACE_NAME, MAX_INSTANCES, checkScalability, Property } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';

function web(extra: Partial<ConstructorParameters<typeof Appliance>[0]> = {}): Appliance {
  return new Appliance({ name: 'web', creator: 'tomcat', ...extra });
}

describe('Appliance basics', () => {
  it('type defaults to the creator; creator is read-only', () => {
    const a = web();
    expect(a.type).toBe('tomcat');
    expect(a.creator).toBe('tomcat');
    expect(() => {
      (a as { creator: string }).creator = 'other';
    }).toThrow(TypeError);
    expect(web({ type: 'tomcat-admin' }).type).toBe('tomcat-admin');
  });

  it('refuses External types and bad names', () => {
    expectUserError(() => web({ type: 'ExternalThing' }), 'APPLIANCE_TYPE_RESERVED');
    const e = expectUserError(() => new Appliance({ name: 'web server', creator: 'x' }), 'NAME_INVALID');
    expect(e.where).toBe('appliance "web server"');
    expectUserError(() => new Appliance({ name: 'w', creator: '' }), 'APPLIANCE_INVALID');
  });

  it('resource requirements are optional and positive whole numbers', () => {
    expect(web({ resources: { memoryMiB: 2048, cpus: 2 } }).resources).toEqual({ memoryMiB: 2048, cpus: 2 });
    expect(web().resources).toEqual({});
    expectUserError(() => web({ resources: { memoryMiB: 0 } }), 'RESOURCES_INVALID');
    expectUserError(() => web({ resources: { cpus: -1 } }), 'RESOURCES_INVALID');
    expectUserError(() => web({ resources: { cpus: 1.5 } }), 'RESOURCES_INVALID');
  });
});

describe('scalability', () => {
  it('defaults to one instance, not clustered', () => {
    expect(web().scalability).toEqual({ min: 1, target: 1, max: 1, absoluteMax: 1 });
    expect(web().isClustered).toBe(false);
  });

  it('min <= target <= max <= absoluteMax <= 2000', () => {
    expect(checkScalability({ min: 0, target: 1, max: 4, absoluteMax: MAX_INSTANCES })).toBeTruthy();
    const cases: [number, number, number, number, string][] = [
      [3, 2, 4, 4, 'min <= target'],
      [1, 5, 4, 4, 'target <= max'],
      [1, 1, 5, 4, 'max <= absoluteMax'],
      [1, 1, 4, 2001, 'absoluteMax <= 2000'],
      [-1, 1, 1, 1, 'min >= 0'],
      [0, 0, 1, 1, 'target >= 1'],
    ];
    for (const [min, target, max, absoluteMax, rule] of cases) {
      const e = expectUserError(() => web({ scalability: { min, target, max, absoluteMax } }), 'SCALABILITY_BOUNDS');
      expect(e.message).toContain(rule);
      expect(e.where).toBe('appliance "web"');
    }
    expectUserError(() => checkScalability({ min: 1, target: 1.5, max: 2, absoluteMax: 2 }), 'SCALABILITY_BOUNDS');
  });

  it('clustered means max > 1', () => {
    expect(web({ scalability: { min: 1, target: 1, max: 2, absoluteMax: 2 } }).isClustered).toBe(true);
  });
});

describe('interfaces', () => {
  it('an appliance without interfaces gets the default one', () => {
    expect(web().interfaces.map((i) => i.name)).toEqual([DEFAULT_INTERFACE_NAME]);
    expect(web({ interfaces: [{ name: 'bond0' }] }).interfaces.map((i) => i.name)).toEqual(['bond0']);
  });

  it('the last interface cannot be removed, nor one an input listens on', () => {
    const a = web({ inputs: [{ name: 'http', port: 8080, protocols: ['HTTP'] }] });
    expectUserError(() => a.removeInterface('eth0', 'plugin'), 'INTERFACE_REQUIRED');
    a.addInterface({ name: 'eth1' }, 'plugin');
    expectUserError(() => a.removeInterface('eth0', 'plugin'), 'INTERFACE_IN_USE');
    a.removeInterface('eth1', 'plugin');
  });

  it('interface names are unique across physical and virtual', () => {
    const a = web({ interfaces: [{ name: 'eth0', children: [{ name: 'eth0:1' }] }] });
    expectUserError(() => a.addInterface({ name: 'eth0:1' }, 'plugin'), 'NAME_DUPLICATE');
    expect(a.findInterface('eth0:1')?.kind).toBe('virtual');
  });

  it('users cannot change the shape', () => {
    expectUserError(() => web().addInterface({ name: 'eth1' }, 'user'), 'APPLIANCE_NOT_EDITABLE');
  });
});

describe('inputs and outputs', () => {
  it('names are unique per appliance', () => {
    const a = web({ inputs: [{ name: 'http', port: 80, protocols: ['HTTP'] }], outputs: [{ name: 'jdbc', protocol: 'JDBC' }] });
    const e = expectUserError(() => a.addInput({ name: 'http', port: 81, protocols: ['HTTP'] }, 'plugin'), 'NAME_DUPLICATE');
    expect(e.message).toContain('input');
    expectUserError(() => a.addOutput({ name: 'jdbc', protocol: 'JDBC' }, 'plugin'), 'NAME_DUPLICATE');
  });

  it('appliance inputs need a port and an existing interface', () => {
    expectUserError(() => web({ inputs: [{ name: 'i', protocols: ['HTTP'] }] }), 'ENDPOINT_PORT_INVALID');
    const e = expectUserError(() => web({ inputs: [{ name: 'i', port: 80, protocols: ['HTTP'], interfaceName: 'eth9' }] }), 'INTERFACE_UNKNOWN');
    expect(e.where).toBe('appliance "web" > input "i"');
  });

  it('errors inside a part carry the appliance in where', () => {
    const e = expectUserError(() => web({ inputs: [{ name: 'i', port: 0, protocols: ['HTTP'] }] }), 'ENDPOINT_PORT_INVALID');
    expect(e.where).toBe('appliance "web" > input "i"');
  });
});

describe('content resources', () => {
  it('can be exposed as a fileRef user property', () => {
    const a = web({ contentResources: [{ name: 'server.xml', path: 'templates/server.xml', description: 'config' }] });
    const p = a.exposeContentResource('server.xml', 'tomcat.serverXml');
    expect(p).toBeInstanceOf(Property);
    expect(p).toMatchObject({ type: 'fileRef', category: 'user', value: 'contentresource:server.xml' });
  });

  it('names are URI-safe, paths relative', () => {
    expectUserError(() => web({ contentResources: [{ name: 'a b', path: 'x' }] }), 'NAME_INVALID');
    expectUserError(() => web({ contentResources: [{ name: 'a', path: '/etc/x' }] }), 'PATH_INVALID');
    expectUserError(() => web({ contentResources: [{ name: 'a', path: '../x' }] }), 'PATH_INVALID');
  });

  it('cannot be removed while a fileRef points at it', () => {
    const a = web({ contentResources: [{ name: 'c', path: 'c' }] });
    a.exposeContentResource('c', 'cert');
    expectUserError(() => a.removeContentResource('c', 'plugin'), 'CONTENT_RESOURCE_IN_USE');
    a.properties.remove('cert', 'plugin');
    a.removeContentResource('c', 'plugin');
    expect(a.contentResources).toEqual([]);
  });
});

describe('file sets on appliances', () => {
  const clustered = { min: 1, target: 2, max: 4, absoluteMax: 8 };

  it('captured NFS and DISK_IMAGE need a clustered appliance', () => {
    for (const sharedType of ['NFS', 'DISK_IMAGE'] as const) {
      const def = { name: 'shared', root: '/u01', scope: 'shared', sharedType, captured: true } as const;
      const e = expectUserError(() => web({ fileSets: [def] }), 'FILESET_SHARED_UNSUPPORTED');
      expect(e.message).toContain('clustered');
      expect(web({ scalability: clustered, fileSets: [def] }).fileSets).toHaveLength(1);
    }
  });

  it('not-captured NFS works on a single instance', () => {
    expect(web({ fileSets: [{ name: 'nfs', root: '/data', scope: 'shared', sharedType: 'NFS', captured: false }] }).fileSets[0]?.mountTarget).toEqual({
      source: 'plan',
    });
  });

  it('cannot shrink scalability under a cluster-only file set', () => {
    const a = web({ scalability: clustered, fileSets: [{ name: 's', root: '/u01', scope: 'shared', sharedType: 'NFS' }] });
    expectUserError(() => a.setScalability({ min: 1, target: 1, max: 1, absoluteMax: 1 }), 'FILESET_SHARED_UNSUPPORTED');
    a.setScalability({ min: 1, target: 1, max: 2, absoluteMax: 2 });
  });

  it('names and roots are unique', () => {
    const a = web({ fileSets: [{ name: 'home', root: '/opt/a' }] });
    expectUserError(() => a.addFileSet({ name: 'home', root: '/opt/b' }, 'plugin'), 'NAME_DUPLICATE');
    expectUserError(() => a.addFileSet({ name: 'other', root: '/opt/a' }, 'plugin'), 'NAME_DUPLICATE');
  });

  it('user file sets: users add, edit and remove them', () => {
    const a = web();
    a.addFileSet({ name: 'extra', root: '/srv' }, 'user');
    a.updateFileSet('extra', { excludes: ['cache'] }, 'user');
    expect(a.getFileSet('extra')?.excludes).toEqual(['cache']);
    a.removeFileSet('extra', 'user');
    expect(a.fileSets).toEqual([]);
    expectUserError(() => a.addFileSet({ name: 'sys', root: '/x', category: 'system' }, 'user'), 'FILESET_READ_ONLY');
  });

  it('system file sets: users change only local/shared and the shared type, and cannot remove them', () => {
    const a = web({ scalability: clustered, fileSets: [{ name: 'home', root: '/opt/app', category: 'system' }] });
    a.updateFileSet('home', { scope: 'shared', sharedType: 'NFS' }, 'user');
    expect(a.getFileSet('home')?.scope).toBe('shared');
    const e = expectUserError(() => a.updateFileSet('home', { excludes: ['logs'] }, 'user'), 'FILESET_READ_ONLY');
    expect(e.where).toBe('appliance "web" > file set definition "home"');
    expectUserError(() => a.removeFileSet('home', 'user'), 'FILESET_READ_ONLY');
    a.removeFileSet('home', 'plugin');
  });

  it('siblings have no file sets of their own', () => {
    const s = new Appliance({ name: 'ms1', creator: 'wls', fileSetsFrom: 'admin' });
    expect(s.isSibling).toBe(true);
    expectUserError(() => s.addFileSet({ name: 'x', root: '/x' }, 'plugin'), 'FILESET_SIBLING');
  });
});

describe('editable fields survive freezing', () => {
  it('description and scalability change through their setters', () => {
    const a = web();
    a.description = 'front end';
    a.setResources({ memoryMiB: 512 });
    expect(a.description).toBe('front end');
    expect(a.resources).toEqual({ memoryMiB: 512 });
    expect(() => {
      (a as { name: string }).name = 'x';
    }).toThrow(TypeError);
  });
});

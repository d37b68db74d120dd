import { Appliance, Assembly, AtomicAssembly } from '../../core/metadata/index.js';

/** A database appliance with an input offering host/port/user properties. */
export function dbAppliance(name = 'db'): Appliance {
  return new Appliance({
    name,
    creator: 'postgresql',
    resources: { memoryMiB: 1024, cpus: 1 },
    inputs: [{ name: 'sql', port: 5432, protocols: ['JDBC'], properties: [{ name: 'host' }, { name: 'port', type: 'int', value: 5432 }, { name: 'user' }] }],
    properties: [
      { name: 'db.password', type: 'password', value: 'pg-secret-42', required: true },
      { name: 'db.version', category: 'system', value: '15' },
    ],
    fileSets: [{ name: 'data', root: '/var/lib/postgresql', excludes: ['15/main/pg_wal/*', 'log/*.log'], category: 'system' }],
  });
}

/** A web appliance whose jdbc output needs host and port. */
export function webAppliance(name = 'web'): Appliance {
  return new Appliance({
    name,
    creator: 'tomcat',
    scalability: { min: 1, target: 2, max: 4, absoluteMax: 10 },
    interfaces: [{ name: 'eth0', children: [{ name: 'eth0:1' }] }],
    inputs: [{ name: 'http', port: 8080, protocols: ['HTTP'], properties: [{ name: 'host' }, { name: 'port', type: 'int', value: 8080 }] }],
    outputs: [
      { name: 'jdbc', protocol: 'JDBC', connectionProperties: [{ name: 'host' }, { name: 'port', type: 'int' }] },
      { name: 'ldap', protocol: 'LDAP', connectionProperties: [{ name: 'host' }, { name: 'port', type: 'int', value: 389 }, { name: 'bindPassword', type: 'password', value: 'ldap-secret', required: true }] },
    ],
    contentResources: [{ name: 'server.xml', path: 'web/server.xml' }],
    fileSets: [
      { name: 'catalina', root: '/usr/share/tomcat', excludes: ['logs/*.log', 'temp/*', 'work'] },
      { name: 'shared', root: '/srv/shared', scope: 'shared', sharedType: 'NFS', captured: true },
    ],
  });
}

/** Admin + managed server sharing the admin's file sets. */
export function wlsDomain(): AtomicAssembly {
  const atomic = new AtomicAssembly({ name: 'domain', creator: 'weblogic' });
  atomic.addAppliance(
    {
      name: 'admin',
      creator: 'weblogic',
      inputs: [{ name: 't3', port: 7001, protocols: ['T3'], properties: [{ name: 'host' }] }],
      fileSets: [{ name: 'home', root: '/u01/oracle', category: 'system' }],
    },
    'plugin',
  );
  atomic.createSibling({ name: 'ms1', creator: 'weblogic', outputs: [{ name: 'admin', protocol: 'T3', connectionProperties: [{ name: 'host' }] }] }, 'plugin');
  atomic.connect('ms1/admin', 'admin/t3', 'plugin');
  return atomic;
}

export function fullAssembly(): Assembly {
  const a = new Assembly({ name: 'shop', description: 'web shop', properties: [{ name: 'env', value: 'prod' }] });
  a.addMember(webAppliance());
  a.addMember(dbAppliance());
  a.addMember(wlsDomain());
  a.addMember(new Assembly({ name: 'reporting', members: [dbAppliance('rdb')] }));
  a.connect('web/jdbc', 'db/sql', 'user');
  a.addExternalResourceFor('web/ldap', 'corp-ldap', 'user', { type: 'ExternalLDAP' });
  a.addVnet({ name: 'backend', cidr: '10.1.0.0/24' });
  return a;
}

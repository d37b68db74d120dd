import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { Appliance, Assembly, AtomicAssembly, ExternalResource, memberFromPlain, REDACTED } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';
import { fullAssembly, webAppliance, wlsDomain } from './fixtures.js';

/** Through JSON as a serializer would, then back. */
function viaJson<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('round trip', () => {
  it('appliance: toPlain -> fromPlain -> toPlain is identical', () => {
    const plain = webAppliance().toPlain();
    expect(Appliance.fromPlain(viaJson(plain)).toPlain()).toEqual(plain);
  });

  it('atomic assembly', () => {
    const plain = wlsDomain().toPlain();
    expect(AtomicAssembly.fromPlain(viaJson(plain)).toPlain()).toEqual(plain);
  });

  it('assembly with every member kind, connections and vnets', () => {
    const plain = fullAssembly().toPlain();
    const again = Assembly.fromPlain(viaJson(plain));
    expect(again.toPlain()).toEqual(plain);
    expect(JSON.stringify(again.toPlain())).toBe(JSON.stringify(plain));
    expect(plain.members.map((m) => m.kind)).toEqual(['appliance', 'appliance', 'atomicAssembly', 'assembly', 'externalResource']);
  });

  it('external resource and member dispatch', () => {
    const ext = new ExternalResource({ name: 'ldap', type: 'ExternalLDAP', properties: [{ name: 'base', value: 'dc=x' }] });
    expect(memberFromPlain(viaJson(ext.toPlain())).toPlain()).toEqual(ext.toPlain());
    expectUserError(() => memberFromPlain({ kind: 'vm', name: 'x' }), 'METADATA_INVALID');
  });

  it('passwords are in the plain form, flagged for encryption', () => {
    const plain = fullAssembly().toPlain();
    const text = JSON.stringify(plain);
    expect(text).toContain('pg-secret-42');
    expect(text).toContain('"secret":true');
  });
});

describe('fromPlain reports errors with a path', () => {
  function broken(mutate: (p: ReturnType<Assembly['toPlain']>) => void) {
    const plain = viaJson(fullAssembly().toPlain()) as ReturnType<Assembly['toPlain']>;
    mutate(plain);
    return () => Assembly.fromPlain(plain);
  }

  it('bad property value deep inside', () => {
    const e = expectUserError(
      broken((p) => {
        const web = p.members[0] as ReturnType<Appliance['toPlain']>;
        const port = web.inputs[0]?.properties.find((x) => x.name === 'port');
        if (port) port.value = 'eighty';
      }),
      'PROPERTY_VALUE_INVALID',
    );
    expect(e.where).toBe('assembly "shop" > appliance "web" > input "http" > property "port"');
    expect(e.describe()).toContain('assembly "shop" > appliance "web" > input "http" > property "port": value "eighty" is not valid for type int');
  });

  it('appliance property', () => {
    const e = expectUserError(
      broken((p) => {
        const db = p.members[1] as ReturnType<Appliance['toPlain']>;
        db.properties.push({ name: 'bad name', type: 'string', category: 'user', required: false, description: '' });
      }),
      'NAME_INVALID',
    );
    expect(e.where).toBe('assembly "shop" > appliance "db" > property "bad name"');
  });

  it('scalability', () => {
    const e = expectUserError(
      broken((p) => {
        (p.members[0] as ReturnType<Appliance['toPlain']>).scalability.absoluteMax = 5000;
      }),
      'SCALABILITY_BOUNDS',
    );
    expect(e.where).toBe('assembly "shop" > appliance "web"');
  });

  it('file set inside a sub-assembly', () => {
    const e = expectUserError(
      broken((p) => {
        const sub = p.members[3] as ReturnType<Assembly['toPlain']>;
        const rdb = sub.members[0] as ReturnType<Appliance['toPlain']>;
        rdb.fileSets[0]!.excludes.push('../etc');
      }),
      'PATH_INVALID',
    );
    expect(e.where).toBe('assembly "shop" > assembly "reporting" > appliance "rdb" > file set definition "data"');
  });

  it('shape errors name the field', () => {
    const e = expectUserError(
      broken((p) => {
        (p.members[2] as unknown as Record<string, unknown>)['creator'] = 7;
      }),
      'METADATA_INVALID',
    );
    expect(e.where).toBe('assembly "shop" > atomic assembly "domain"');
    expect(e.message).toContain('field "creator" must be a string');
  });

  it('connections to missing endpoints', () => {
    const e = expectUserError(
      broken((p) => {
        p.connections.push({ from: 'web/nope', to: 'db/sql' });
      }),
      'CONNECTION_ENDPOINT_UNKNOWN',
    );
    expect(e.where).toBe('assembly "shop" > connection "web/nope -> db/sql"');
  });

  it('reserved property names load (the framework wrote them) but External types do not', () => {
    const plain = viaJson(webAppliance().toPlain()) as ReturnType<Appliance['toPlain']>;
    plain.properties.push({ name: 'ovab.internal', type: 'string', category: 'system', required: false, description: '' });
    expect(Appliance.fromPlain(plain).properties.has('ovab.internal')).toBe(true);
    plain.type = 'ExternalX';
    expectUserError(() => Appliance.fromPlain(plain), 'APPLIANCE_TYPE_RESERVED');
  });
});

describe('printing never reveals passwords', () => {
  it('JSON.stringify, util.inspect and toString of whole trees', () => {
    const a = fullAssembly();
    for (const text of [JSON.stringify(a), inspect(a, { depth: Infinity }), String(a), JSON.stringify(a.getMember('db')), inspect(a.getMember('web'), { depth: Infinity })]) {
      expect(text).not.toContain('pg-secret-42');
      expect(text).not.toContain('ldap-secret');
    }
    expect(JSON.stringify(a)).toContain(REDACTED);
  });
});

import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { Property, PropertySet, resolveFileRef, REDACTED } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';

describe('Property values', () => {
  it('distinguishes no value from the empty string', () => {
    const none = new Property({ name: 'a' });
    const empty = new Property({ name: 'a', value: '' });
    expect(none.value).toBeUndefined();
    expect(none.hasValue).toBe(false);
    expect(empty.value).toBe('');
    expect(empty.hasValue).toBe(true);
    expect(none.toPlain()).not.toHaveProperty('value');
    expect(empty.toPlain().value).toBe('');
  });

  it('int: whole numbers only, stored canonically', () => {
    expect(new Property({ name: 'p', type: 'int', value: '8080' }).typedValue).toBe(8080);
    expect(new Property({ name: 'p', type: 'int', value: 42 }).value).toBe('42');
    expect(new Property({ name: 'p', type: 'int', value: '-007' }).value).toBe('-7');
    for (const bad of ['8.5', 'abc', '', ' 1', 1.5, '99999999999999999999']) {
      const e = expectUserError(() => new Property({ name: 'p', type: 'int', value: bad }), 'PROPERTY_VALUE_INVALID');
      expect(e.message).toContain('type int');
      expect(e.where).toBe('property "p"');
    }
  });

  it('boolean: true or false only', () => {
    expect(new Property({ name: 'b', type: 'boolean', value: 'true' }).typedValue).toBe(true);
    expect(new Property({ name: 'b', type: 'boolean', value: false }).value).toBe('false');
    expectUserError(() => new Property({ name: 'b', type: 'boolean', value: 'yes' }), 'PROPERTY_VALUE_INVALID');
    expectUserError(() => new Property({ name: 'b', type: 'boolean', value: 'TRUE' }), 'PROPERTY_VALUE_INVALID');
  });

  it('fileRef: must be a URI; other schemes kept and skipped by resolution', () => {
    const cr = new Property({ name: 'f', type: 'fileRef', value: 'contentresource:server.xml' });
    expect(resolveFileRef(cr.value ?? '')).toEqual({ kind: 'contentResource', name: 'server.xml' });
    const other = new Property({ name: 'f', type: 'fileRef', value: 'https://example.com/x.pem' });
    expect(other.value).toBe('https://example.com/x.pem');
    expect(resolveFileRef(other.value ?? '')).toEqual({ kind: 'unsupported', scheme: 'https', uri: 'https://example.com/x.pem' });
    expectUserError(() => new Property({ name: 'f', type: 'fileRef', value: 'server.xml' }), 'PROPERTY_VALUE_INVALID');
    expectUserError(() => new Property({ name: 'f', type: 'fileRef', value: 'contentresource:a/b' }), 'NAME_INVALID');
    expect(new Property({ name: 'f', type: 'fileRef' }).hasValue).toBe(false);
  });

  it('refuses an unknown type', () => {
    expectUserError(() => new Property({ name: 'x', type: 'float' as never }), 'PROPERTY_TYPE_INVALID');
  });
});

describe('passwords are never shown', () => {
  const secret = 'hunter2-very-secret';
  const p = new Property({ name: 'db.password', type: 'password', category: 'user', value: secret });

  it('keeps the clear text for plugins', () => {
    expect(p.value).toBe(secret);
    expect(p.secret).toBe(true);
  });

  it('toString, JSON.stringify and util.inspect mask it', () => {
    expect(String(p)).toBe(`db.password = ${REDACTED}`);
    expect(JSON.stringify(p)).not.toContain(secret);
    expect(inspect(p)).not.toContain(secret);
    const set = new PropertySet('appliance "db"', [p]);
    expect(JSON.stringify(set)).not.toContain(secret);
    expect(inspect(set, { depth: 10 })).not.toContain(secret);
    expect(String(set)).not.toContain(secret);
    expect(`${set}`).toContain(REDACTED);
  });

  it('plain form includes it, flagged secret', () => {
    expect(p.toPlain()).toMatchObject({ value: secret, secret: true });
    expect(new Property({ name: 'x' }).toPlain()).not.toHaveProperty('secret');
  });
});

describe('PropertySet', () => {
  function sample(): PropertySet {
    return new PropertySet('appliance "web"', [
      { name: 'db.host', value: 'h' },
      { name: 'db.port', type: 'int', value: 5432 },
      { name: 'cluster.id', category: 'system', value: 'c1' },
      { name: 'plain' },
    ]);
  }

  it('keeps order and unique names', () => {
    const s = sample();
    expect(s.names()).toEqual(['db.host', 'db.port', 'cluster.id', 'plain']);
    const e = expectUserError(() => s.add({ name: 'db.host' }, 'plugin'), 'PROPERTY_DUPLICATE');
    expect(e.where).toBe('appliance "web" > property "db.host"');
  });

  it('get / set / unset / remove / list', () => {
    const s = sample();
    expect(s.get('db.host')?.value).toBe('h');
    s.set('db.host', 'x', 'user');
    expect(s.getValue('db.host')).toBe('x');
    s.unset('db.host', 'user');
    expect(s.get('db.host')?.hasValue).toBe(false);
    s.remove('plain', 'user');
    expect(s.has('plain')).toBe(false);
    expect(s.list()).toHaveLength(3);
    expectUserError(() => s.set('nope', 'v', 'plugin'), 'PROPERTY_UNKNOWN');
  });

  it('set validates against the type and reports where', () => {
    const e = expectUserError(() => sample().set('db.port', 'five', 'user'), 'PROPERTY_VALUE_INVALID');
    expect(e.where).toBe('appliance "web" > property "db.port"');
  });

  it('groups by prefix', () => {
    const s = sample();
    expect(s.group('db').map((p) => p.name)).toEqual(['db.host', 'db.port']);
    expect([...s.groups().keys()]).toEqual(['db', 'cluster', '']);
  });

  it('users cannot change, unset or remove system properties; plugins can', () => {
    const s = sample();
    for (const edit of [() => s.set('cluster.id', 'c2', 'user'), () => s.unset('cluster.id', 'user'), () => s.remove('cluster.id', 'user')]) {
      const e = expectUserError(edit, 'PROPERTY_READ_ONLY');
      expect(e.message).toContain('system property "cluster.id"');
    }
    expect(s.set('cluster.id', 'c2', 'plugin').value).toBe('c2');
    expect(s.set('cluster.id', 'c3', 'framework').value).toBe('c3');
  });

  it('users can add user properties but not system ones', () => {
    const s = sample();
    s.add({ name: 'mine', value: '1' }, 'user');
    expectUserError(() => s.add({ name: 'sys', category: 'system' }, 'user'), 'PROPERTY_READ_ONLY');
  });

  it('users cannot edit fileRef values in metadata (the plan overrides them)', () => {
    const s = new PropertySet(undefined, [{ name: 'cert', type: 'fileRef', value: 'contentresource:cert.pem' }]);
    expectUserError(() => s.set('cert', 'contentresource:other.pem', 'user'), 'PROPERTY_READ_ONLY');
    expect(s.set('cert', 'contentresource:other.pem', 'plugin').value).toBe('contentresource:other.pem');
  });

  it('reserved names: refused for plugins and users, allowed for the framework', () => {
    const s = new PropertySet();
    expectUserError(() => s.add({ name: 'ovab.internal' }, 'plugin'), 'PROPERTY_NAME_RESERVED');
    expectUserError(() => s.add({ name: 'OVAB_x' }, 'user'), 'PROPERTY_NAME_RESERVED');
    expect(s.add({ name: 'ovab.internal' }, 'framework').name).toBe('ovab.internal');
    expectUserError(() => new PropertySet(undefined, [{ name: 'Ovab1' }]), 'PROPERTY_NAME_RESERVED');
  });

  it('lists required properties without a value; an empty one counts as none', () => {
    const s = new PropertySet(undefined, [
      { name: 'a', required: true },
      { name: 'b', required: true, value: '' },
      { name: 'c' },
      { name: 'd', value: '' },
    ]);
    // b would deploy empty; d is not required, so "" is its value.
    expect(s.missingRequired().map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('round trips through plain form', () => {
    const s = sample();
    s.add({ name: 'pw', type: 'password', value: 's3cret', required: true, description: 'db password' }, 'plugin');
    const plain = s.toPlain();
    expect(PropertySet.fromPlain(JSON.parse(JSON.stringify(plain))).toPlain()).toEqual(plain);
  });

  it('fromPlain re-checks and says where', () => {
    const e = expectUserError(
      () => PropertySet.fromPlain([{ name: 'port', type: 'int', category: 'user', required: false, description: '', value: 'x' }], 'appliance "web"'),
      'PROPERTY_VALUE_INVALID',
    );
    expect(e.where).toBe('appliance "web" > property "port"');
    expectUserError(() => PropertySet.fromPlain([{ name: 'pw', type: 'password', category: 'user', required: false, description: '' }]), 'METADATA_INVALID');
    expectUserError(() => PropertySet.fromPlain([{ name: 'x', type: 'string', category: 'admin', required: false }]), 'METADATA_INVALID');
  });
});

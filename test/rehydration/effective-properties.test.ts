import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { Property, PropertySet, REDACTED } from '../../core/metadata/index.js';
import { EffectiveProperties } from '../../core/rehydration/index.js';
import { expectUserError } from '../metadata/helpers.js';

function introspected(): PropertySet {
  return new PropertySet('appliance "web"', [
    { name: 'port', type: 'int', value: 8080 },
    { name: 'server.name', value: 'ref-host' },
    { name: 'greeting', value: 'hello' },
    { name: 'admin.password', type: 'password', value: 's3cret-introspected' },
    { name: 'home', category: 'system', value: '/opt/web' },
    { name: 'ssl', type: 'boolean', value: false },
    { name: 'peer.host', required: true },
  ]);
}

describe('effective properties: precedence', () => {
  it('introspected < assembly < plan < late bindings, one property through all four', () => {
    const layers = { introspected: introspected() };
    let eff = EffectiveProperties.compute(layers);
    expect(eff.value('port')).toBe('8080');
    expect(eff.source('port')).toBe('introspection');

    const assembly = introspected();
    assembly.set('port', 8081, 'user');
    eff = EffectiveProperties.compute({ ...layers, assembly });
    expect(eff.value('port')).toBe('8081');
    expect(eff.source('port')).toBe('assembly');

    const plan = [{ name: 'port', value: '8082' }];
    eff = EffectiveProperties.compute({ ...layers, assembly, plan });
    expect(eff.value('port')).toBe('8082');
    expect(eff.source('port')).toBe('plan');

    eff = EffectiveProperties.compute({ ...layers, assembly, plan, lateBindings: [{ name: 'port', value: '8083' }] });
    expect(eff.value('port')).toBe('8083');
    expect(eff.source('port')).toBe('lateBinding');
    expect(eff.values().get('port')).toBe(8083);
  });

  it('a layer without a value for a property leaves the lower value', () => {
    const assembly = introspected();
    assembly.set('greeting', 'hi', 'user');
    const eff = EffectiveProperties.compute({
      introspected: introspected(),
      assembly,
      plan: [{ name: 'greeting', value: undefined }, { name: 'port', value: undefined }],
      lateBindings: [{ name: 'server.name', value: undefined }],
    });
    expect(eff.value('greeting')).toBe('hi');
    expect(eff.source('greeting')).toBe('assembly');
    expect(eff.value('port')).toBe('8080');
    expect(eff.source('port')).toBe('introspection');
    expect(eff.value('server.name')).toBe('ref-host');
  });

  it('late bindings set system properties and add new ones; required ones are then satisfied', () => {
    const before = EffectiveProperties.compute({ introspected: introspected() });
    expect(before.missingRequired().map((p) => p.name)).toEqual(['peer.host']);
    const eff = EffectiveProperties.compute({
      introspected: introspected(),
      lateBindings: [
        { name: 'home', value: '/srv/web' },
        { name: 'peer.host', value: 'db-1.example' },
        { name: 'instance.index', value: '2', type: 'int' },
      ],
    });
    expect(eff.value('home')).toBe('/srv/web');
    expect(eff.values().get('instance.index')).toBe(2);
    expect(eff.get('instance.index')?.property.category).toBe('system');
    expect(eff.missingRequired()).toEqual([]);
  });

  it('user properties added in the assembly take part', () => {
    const assembly = introspected();
    assembly.add({ name: 'extra', value: 'x' }, 'user');
    const eff = EffectiveProperties.compute({ introspected: introspected(), assembly, plan: [{ name: 'extra', value: 'y' }] });
    expect(eff.value('extra')).toBe('y');
  });

  it('refuses system property changes from the assembly or plan, unknown plan names, and values of the wrong type', () => {
    const e1 = expectUserError(
      () => EffectiveProperties.compute({ introspected: introspected(), plan: [{ name: 'home', value: '/x' }] }, 'appliance "web"'),
      'PROPERTY_READ_ONLY',
    );
    expect(e1.where).toBe('appliance "web" > deployment plan > property "home"');
    expectUserError(
      () => EffectiveProperties.compute({ introspected: introspected(), assembly: [{ name: 'home', value: '/x' }] }),
      'PROPERTY_READ_ONLY',
    );
    const e2 = expectUserError(() => EffectiveProperties.compute({ introspected: introspected(), plan: [{ name: 'nope', value: '1' }] }), 'PROPERTY_UNKNOWN');
    expect(e2.message).toContain('"nope"');
    const e3 = expectUserError(
      () => EffectiveProperties.compute({ introspected: introspected(), lateBindings: [{ name: 'port', value: 'eighty' }] }),
      'PROPERTY_VALUE_INVALID',
    );
    expect(e3.where).toBe('late bindings > property "port"');
  });
});

describe('effective properties: passwords', () => {
  const eff = EffectiveProperties.compute({
    introspected: introspected(),
    plan: [{ name: 'admin.password', value: 'pl4n-secret' }],
  });

  it('the plan overrides a password, and its clear text comes only on request', () => {
    expect(eff.source('admin.password')).toBe('plan');
    expect(eff.revealPassword('admin.password')).toBe('pl4n-secret');
    expectUserError(() => eff.value('admin.password'), 'PROPERTY_SECRET');
    expectUserError(() => eff.revealPassword('port'), 'PROPERTY_NOT_SECRET');
    expect(eff.values().has('admin.password')).toBe(false);
    expect(eff.values({ includePasswords: true }).get('admin.password')).toBe('pl4n-secret');
  });

  it('never in toString, JSON or inspect output', () => {
    for (const text of [String(eff), `${eff}`, JSON.stringify(eff), inspect(eff), JSON.stringify(eff.toPropertySet())]) {
      expect(text).not.toContain('pl4n-secret');
      expect(text).not.toContain('s3cret-introspected');
    }
    expect(JSON.stringify(eff)).toContain(REDACTED);
    expect(String(eff)).toContain('port = 8080 (introspection)');
  });

  it('toPropertySet carries the effective values (for the bundle), masked when printed', () => {
    const set = eff.toPropertySet('appliance "web"');
    expect(set.getValue('admin.password')).toBe('pl4n-secret');
    expect(set.toString()).not.toContain('pl4n-secret');
  });
});

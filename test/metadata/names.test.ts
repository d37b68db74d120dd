import { describe, it, expect } from 'vitest';
import { checkObjectName, checkPropertyName, checkApplianceType, isValidObjectName, NAME_SYMBOLS } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';

describe('names', () => {
  it('accepts letters, digits and every allowed symbol', () => {
    expect(() => checkObjectName('appliance', 'Web-1')).not.toThrow();
    expect(() => checkObjectName('appliance', NAME_SYMBOLS)).not.toThrow();
    expect(isValidObjectName('a.b_c~d')).toBe(true);
  });

  it('refuses other characters and names the bad one and its position', () => {
    const e = expectUserError(() => checkObjectName('appliance', 'web server'), 'NAME_INVALID');
    expect(e.message).toContain('appliance name');
    expect(e.message).toContain('space at position 4');
    expect(expectUserError(() => checkObjectName('assembly', 'a/b'), 'NAME_INVALID').message).toContain('"/" at position 2');
    expectUserError(() => checkObjectName('assembly', 'café'), 'NAME_INVALID');
    expectUserError(() => checkObjectName('assembly', 'a$b'), 'NAME_INVALID');
  });

  it('allows 40 characters and refuses 41', () => {
    expect(() => checkObjectName('appliance', 'a'.repeat(40))).not.toThrow();
    const e = expectUserError(() => checkObjectName('appliance', 'a'.repeat(41)), 'NAME_INVALID');
    expect(e.message).toContain('limit is 40');
  });

  it('refuses empty names', () => {
    expectUserError(() => checkObjectName('appliance', ''), 'NAME_INVALID');
  });

  it('property names: same set, no length limit', () => {
    expect(() => checkPropertyName('p'.repeat(500))).not.toThrow();
    expectUserError(() => checkPropertyName('db host'), 'NAME_INVALID');
  });

  it.each(['OVAB.x', 'Ovabthing', 'ovab'])('property name %s is reserved', (name) => {
    const e = expectUserError(() => checkPropertyName(name), 'PROPERTY_NAME_RESERVED');
    expect(e.message).toContain('reserved');
  });

  it('oVAB and xovab are not reserved', () => {
    expect(() => checkPropertyName('oVAB.x')).not.toThrow();
    expect(() => checkPropertyName('x.ovab')).not.toThrow();
  });

  it('appliance types starting with External are reserved for external resources', () => {
    expectUserError(() => checkApplianceType('ExternalDB', { external: false }), 'APPLIANCE_TYPE_RESERVED');
    expect(() => checkApplianceType('ExternalDB', { external: true })).not.toThrow();
    expect(() => checkApplianceType('tomcat', { external: false })).not.toThrow();
    expectUserError(() => checkApplianceType('LDAP', { external: true }), 'APPLIANCE_TYPE_INVALID');
  });
});

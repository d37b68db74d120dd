import { describe, it, expect } from 'vitest';
import { Input, Output, checkCompatible, NetworkInterface, DEFAULT_INTERFACE_NAME } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';

describe('Input', () => {
  it('port must be 1..65535', () => {
    expect(new Input({ name: 'http', port: 1, protocols: ['HTTP'] }).port).toBe(1);
    expect(new Input({ name: 'http', port: 65535, protocols: ['HTTP'] }).port).toBe(65535);
    for (const port of [0, 65536, 80.5, -1]) {
      const e = expectUserError(() => new Input({ name: 'http', port, protocols: ['HTTP'] }), 'ENDPOINT_PORT_INVALID');
      expect(e.where).toBe('input "http"');
    }
  });

  it('protocols must be a non-empty list without duplicates', () => {
    expect(new Input({ name: 'i', port: 80, protocols: ['HTTP', 'HTTPS'] }).protocols).toEqual(['HTTP', 'HTTPS']);
    expectUserError(() => new Input({ name: 'i', port: 80, protocols: [] }), 'ENDPOINT_PROTOCOL_INVALID');
    expectUserError(() => new Input({ name: 'i', port: 80, protocols: ['HTTP', 'HTTP'] }), 'ENDPOINT_PROTOCOL_INVALID');
    expectUserError(() => new Input({ name: 'i', port: 80, protocols: ['a b'] }), 'ENDPOINT_PROTOCOL_INVALID');
  });

  it('listens on the default interface unless told otherwise', () => {
    expect(new Input({ name: 'i', port: 80, protocols: ['HTTP'] }).interfaceName).toBe(DEFAULT_INTERFACE_NAME);
    expect(new Input({ name: 'i', port: 80, protocols: ['HTTP'], interfaceName: 'eth1' }).interfaceName).toBe('eth1');
  });

  it('endpoint names follow the name rules', () => {
    expectUserError(() => new Input({ name: 'a/b', port: 80, protocols: ['HTTP'] }), 'NAME_INVALID');
    expectUserError(() => new Output({ name: 'a b', protocol: 'JDBC' }), 'NAME_INVALID');
  });
});

describe('Output', () => {
  it('has exactly one protocol', () => {
    expect(new Output({ name: 'jdbc', protocol: 'JDBC' }).protocol).toBe('JDBC');
    expectUserError(() => new Output({ name: 'jdbc', protocol: ['JDBC', 'X'] as never }), 'ENDPOINT_PROTOCOL_INVALID');
    expectUserError(() => new Output({ name: 'jdbc', protocol: '' }), 'ENDPOINT_PROTOCOL_INVALID');
  });
});

describe('checkCompatible', () => {
  const output = new Output({ name: 'jdbc', protocol: 'JDBC', connectionProperties: [{ name: 'host' }, { name: 'port', type: 'int' }] });

  it('compatible when every connection-property name is an input property name', () => {
    const input = new Input({ name: 'sql', port: 5432, protocols: ['JDBC'], properties: [{ name: 'host' }, { name: 'port' }, { name: 'extra' }] });
    const r = checkCompatible(output, input);
    expect(r.compatible).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.explanation).toContain('host, port');
  });

  it('lists what is missing and explains', () => {
    const input = new Input({ name: 'sql', port: 5432, protocols: ['JDBC'], properties: [{ name: 'host' }] });
    const r = checkCompatible(output, input);
    expect(r.compatible).toBe(false);
    expect(r.missing).toEqual(['port']);
    expect(r.explanation).toBe('input "sql" lacks connection property "port" that output "jdbc" needs');
  });

  it('an output without connection properties fits any input', () => {
    const r = checkCompatible(new Output({ name: 'o', protocol: 'TCP' }), new Input({ name: 'i', port: 1, protocols: ['X'] }));
    expect(r.compatible).toBe(true);
  });
});

describe('NetworkInterface', () => {
  it('physical interfaces carry virtual children', () => {
    const nic = new NetworkInterface({ name: 'eth0', children: [{ name: 'eth0:1' }] });
    expect(nic.kind).toBe('physical');
    expect(nic.children[0]?.kind).toBe('virtual');
    expect(nic.flatten().map((i) => i.name)).toEqual(['eth0', 'eth0:1']);
  });

  it('virtual interfaces cannot have children', () => {
    const e = expectUserError(() => new NetworkInterface({ name: 'v', kind: 'virtual', children: [{ name: 'w' }] }), 'INTERFACE_VIRTUAL_CHILDREN');
    expect(e.message).toContain('virtual interface "v"');
  });

  it('children must be virtual and uniquely named', () => {
    expectUserError(() => new NetworkInterface({ name: 'eth0', children: [{ name: 'eth1', kind: 'physical' }] }), 'INTERFACE_INVALID');
    expectUserError(() => new NetworkInterface({ name: 'eth0', children: [{ name: 'a' }, { name: 'a' }] }), 'NAME_DUPLICATE');
  });
});

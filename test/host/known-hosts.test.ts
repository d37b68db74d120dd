import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprint,
  hostKeyAlgorithms,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  patternsMatch,
} from '../../services/host/known-hosts.js';
import { shellQuote } from '../../services/host/common.js';
import { formatSshTarget, parseSshTarget } from '../../services/host/ssh-target.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}
const keyA = blob('ssh-ed25519', 'A'.repeat(32));
const keyB = blob('ssh-ed25519', 'B'.repeat(32));
const line = (hosts: string, key: Buffer, marker = '') => `${marker ? `${marker} ` : ''}${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names hosts as ssh does: bare on port 22, [host]:port otherwise', () => {
    expect(knownHostsName('Example.ORG', 22)).toBe('example.org');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches plain, wildcard, negated and hashed patterns', () => {
    expect(patternsMatch('a.example,b.example', 'b.example', 22)).toBe(true);
    expect(patternsMatch('*.example', 'B.Example', 22)).toBe(true);
    expect(patternsMatch('*.example,!bad.example', 'bad.example', 22)).toBe(false);
    expect(patternsMatch('[h?st]:2200', 'host', 2200)).toBe(true);
    expect(patternsMatch('[host]:2200', 'host', 22)).toBe(false);
    expect(patternsMatch('host', 'host', 2200)).toBe(false);
    expect(patternsMatch(hashed('[host]:2200'), 'host', 2200)).toBe(true);
    expect(patternsMatch(hashed('host'), 'host', 2200)).toBe(false);
    expect(patternsMatch('|1|bad', 'host', 22)).toBe(false);
  });

  it('classifies a presented key as known, unknown, mismatched or revoked', () => {
    const entries = parseKnownHosts(
      ['# comment', '', line('a.example', keyA), line('b.example', keyB), line('*', keyB, '@revoked'), line('*', keyA, '@cert-authority'), 'junk', `c.example ssh-ed25519 not!base64`].join('\n'),
    );
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 6]);
    expect(checkHostKey(entries, 'a.example', 22, keyA)).toEqual({ status: 'known', line: 3 });
    expect(checkHostKey(entries, 'c.example', 22, keyA)).toEqual({ status: 'unknown' });
    expect(checkHostKey(entries, 'b.example', 22, keyB)).toEqual({ status: 'revoked', line: 5 });
    expect(checkHostKey(entries, 'a.example', 22, blob('ssh-ed25519', 'C'.repeat(32)))).toEqual({
      status: 'mismatch',
      knownTypes: ['ssh-ed25519'],
      lines: [3],
    });
  });

  it('asks for the recorded key types first', () => {
    expect(hostKeyAlgorithms(['ssh-rsa']).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256'])[0]).toBe('ecdsa-sha2-nistp256');
    expect(new Set(hostKeyAlgorithms(['ssh-ed25519'])).size).toBe(hostKeyAlgorithms(['ssh-ed25519']).length);
  });

  it('prints fingerprints like ssh-keygen -l', () => {
    expect(fingerprint(keyA)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('ssh targets', () => {
  it('parses user@host[:port], IPv6 in brackets, and defaults the user', () => {
    expect(parseSshTarget('oracle@db1.example.com')).toEqual({ user: 'oracle', host: 'db1.example.com', port: 22 });
    expect(parseSshTarget('u@10.1.2.3:2222')).toEqual({ user: 'u', host: '10.1.2.3', port: 2222 });
    expect(parseSshTarget('u@[::1]:2200')).toEqual({ user: 'u', host: '::1', port: 2200 });
    expect(parseSshTarget('host', () => 'me')).toEqual({ user: 'me', host: 'host', port: 22 });
    expect(formatSshTarget({ user: 'u', host: '::1', port: 22 })).toBe('u@[::1]:22');
  });
});

describe('shell quoting', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('/etc/os-release')).toBe('/etc/os-release');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME')).toBe(`'$HOME'`);
  });
});

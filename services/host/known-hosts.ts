/**
 * OpenSSH known_hosts, read the way `ssh` reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 * `[@marker] patterns keytype base64-key [comment]`, where patterns are comma-separated
 * names with `*`/`?` wildcards and `!` negation, or one hashed name `|1|salt|hmac`. A host
 * on a port other than 22 is written `[host]:port`; on port 22 just `host`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';

export interface KnownHostEntry {
  /** 1-based line number, for messages. */
  readonly line: number;
  readonly marker: 'cert-authority' | 'revoked' | undefined;
  readonly patterns: string;
  readonly keyType: string;
  readonly key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else return; // unknown marker: ssh ignores the line, so do we
    }
    const [patterns, keyType, b64] = fields;
    if (!patterns || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return; // malformed: ignored like ssh does
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) return;
    entries.push({ line: index + 1, marker, patterns, keyType, key });
  });
  return entries;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`).test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('|');
  // "|1|salt|hash" splits into ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const expected = Buffer.from(parts[3], 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a line's pattern field names this host: any positive match and no negated one. */
export function patternsMatch(patterns: string, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { readonly status: 'known'; readonly line: number }
  | { readonly status: 'unknown' }
  | { readonly status: 'mismatch'; readonly knownTypes: readonly string[]; readonly lines: readonly number[] }
  | { readonly status: 'revoked'; readonly line: number };

export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, presented: Buffer): HostKeyVerdict {
  const forHost = entries.filter((e) => patternsMatch(e.patterns, host, port));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(presented));
  if (revoked) return { status: 'revoked', line: revoked.line };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(presented));
  if (same) return { status: 'known', line: same.line };
  if (plain.length === 0) return { status: 'unknown' };
  return { status: 'mismatch', knownTypes: [...new Set(plain.map((e) => e.keyType))], lines: plain.map((e) => e.line) };
}

/** Key types known for this host, to ask the server for those first (as ssh does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  return [...new Set(entries.filter((e) => e.marker === undefined && patternsMatch(e.patterns, host, port)).map((e) => e.keyType))];
}

// ssh2's default order on Node 20 (ed25519 available).
const DEFAULT_HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms with the known key types first. Without this the server may pick a
 * key type we have no record of and an honest host would look like an impostor.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const first: ServerHostKeyAlgorithm[] = [];
  for (const t of knownTypes) {
    if (t === 'ssh-rsa') first.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if ((DEFAULT_HOST_KEY_ALGORITHMS as readonly string[]).includes(t)) first.push(t as ServerHostKeyAlgorithm);
  }
  return [...new Set([...first, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

/** `SHA256:<base64 without padding>`, the form `ssh-keygen -lf` and ssh's messages use. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return len > 0 && 4 + len <= key.length ? key.subarray(4, 4 + len).toString('latin1') : 'unknown';
}

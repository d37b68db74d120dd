/** `user@host[:port]`, the way operators name a remote reference host. */
import { userInfo } from 'node:os';
import { isIP } from 'node:net';
import { UserError } from '../../core/errors.js';

export interface SshTarget {
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/;
// RFC 1123 labels; underscores allowed because internal DNS names use them.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function bad(spec: string, why: string): UserError {
  return new UserError('SSH_TARGET_INVALID', `reference host ${JSON.stringify(spec)} is not valid: ${why}`, {
    where: spec,
    hint: 'write it as user@host or user@host:port (IPv6: user@[::1]:2222); use "local" for this machine',
  });
}

/** Parses and validates; the user defaults to the current login name, as with ssh. */
export function parseSshTarget(spec: string, defaultUser: () => string = () => userInfo().username): SshTarget {
  const text = spec.trim();
  if (text === '') throw bad(spec, 'it is empty');
  const at = text.lastIndexOf('@');
  const user = at === -1 ? defaultUser() : text.slice(0, at);
  const rest = at === -1 ? text : text.slice(at + 1);
  if (!USER.test(user)) throw bad(spec, `user name ${JSON.stringify(user)} has characters a login name cannot have`);

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw bad(spec, "missing ']' after the IPv6 address");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(spec, `unexpected ${JSON.stringify(after)} after ']'`);
    portText = after === '' ? undefined : after.slice(1);
    if (isIP(host) !== 6) throw bad(spec, `${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1) throw bad(spec, 'an IPv6 address must be written in brackets, e.g. user@[::1]:22');
    const colon = rest.indexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
    if (host === '') throw bad(spec, 'the host name is missing');
    if (isIP(host) !== 4 && !HOSTNAME.test(host)) throw bad(spec, `${JSON.stringify(host)} is not a host name or IPv4 address`);
  }

  let port = 22;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw bad(spec, `port ${JSON.stringify(portText)} is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(spec, `port ${port} is outside 1-65535`);
  }
  return { user, host, port };
}

export function formatSshTarget(t: SshTarget): string {
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  return `${t.user}@${host}:${t.port}`;
}

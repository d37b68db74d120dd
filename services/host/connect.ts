/**
 * Choosing the reference host: only `undefined` (no --host given) or the word 'local' means
 * this machine; anything else is an SSH target `user@host[:port]`. We do not treat
 * 'localhost' as local on purpose: over SSH it may log in as another user, and a test
 * against 127.0.0.1 must really go through sshd.
 */
import { injectable } from 'inversify';
import { LocalHost } from './local-host.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import type { SshHostOptions } from './ssh-host.js';

export type ReferenceHostOptions = SshHostOptions;

export function isLocalSpec(spec: string | undefined): boolean {
  return spec === undefined || spec === 'local';
}

/** Opens (and for SSH connects and authenticates) a reference host; close() it when done. */
export async function openReferenceHost(spec: string | undefined, options: ReferenceHostOptions = {}): Promise<ReferenceHost> {
  if (isLocalSpec(spec)) return new LocalHost();
  // ssh2 is loaded only when a job really goes remote: most commands never need it.
  const { SshHost } = await import('./ssh-host.js');
  return SshHost.connect(spec as string, options);
}

/** What the introspector manager injects to reach the reference host of a job. */
export interface ReferenceHostFactory {
  open(spec: string | undefined, options?: ReferenceHostOptions): Promise<ReferenceHost>;
}
export const ReferenceHostFactory = Symbol('ReferenceHostFactory');

@injectable()
export class DefaultReferenceHostFactory implements ReferenceHostFactory {
  open(spec: string | undefined, options: ReferenceHostOptions = {}): Promise<ReferenceHost> {
    return openReferenceHost(spec, options);
  }
}

/**
 * The facts of one base, gathered for the requirements asked about: from a base image's files
 * (users, groups, packages; kernel parameters and swap belong to whatever node runs the image),
 * or from a host through the host layer (getent, dpkg-query, /proc), locally or over SSH.
 */
import type { BaseImageRequirement } from '../../core/plugin-contract.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { accountNames, parseDpkgQuery, parseDpkgStatus, swapMiBFromMeminfo, sysctlPath, type BaseFacts, type Fact } from '../../core/requirements/index.js';
import type { BaseFiles } from './base-files.js';

/** The names each kind of requirement asks about. */
export function namesByKind(requirements: readonly BaseImageRequirement[]): Record<'user' | 'group' | 'package' | 'kernelParameter', string[]> {
  const out = { user: [] as string[], group: [] as string[], package: [] as string[], kernelParameter: [] as string[] };
  for (const r of requirements) if (r.kind !== 'swap' && !out[r.kind].includes(r.name)) out[r.kind].push(r.name);
  return out;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const ok = <T>(value: T): Fact<T> => ({ ok: true, value });

/** Why an image cannot answer for kernel settings; such requirements become warnings. */
export const NODE_PROPERTY =
  'not checked in an image: a container runs on the kernel (and swap) of its node; make sure the hosts or Kubernetes nodes that run it provide this';

/**
 * Without dpkg's records a package cannot be known to be missing (a base assembled by copying
 * files has the libraries but no database), so such requirements are warnings, not refusals.
 */
const NO_DPKG = (what: string): string => `not checked: ${what}, so Debian packages cannot be looked up; make sure the files it provides are there`;

export async function imageFacts(base: BaseFiles): Promise<BaseFacts> {
  const [passwd, group, status] = await Promise.all(['/etc/passwd', '/etc/group', '/var/lib/dpkg/status'].map((p) => base.readFile(p)));
  const node: Fact<never> = { ok: false, why: NODE_PROPERTY, asWarning: true };
  return {
    users: passwd ? ok(accountNames(text(passwd))) : { ok: false, why: 'the base has no /etc/passwd' },
    groups: group ? ok(accountNames(text(group))) : { ok: false, why: 'the base has no /etc/group' },
    packages: status ? ok(parseDpkgStatus(text(status))) : { ok: false, why: NO_DPKG('the base has no dpkg database (/var/lib/dpkg/status)'), asWarning: true },
    kernelParameters: node,
    swapMiB: node,
  };
}

/** A file of the host, or undefined when it is absent (any other failure is thrown). */
async function hostText(host: ReferenceHost, path: string): Promise<string | undefined> {
  try {
    return await host.readText(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'HOST_PATH_NOT_FOUND') return undefined;
    throw err;
  }
}

/** `getent DB NAMES...` (so NSS sources such as LDAP count), else the local file when getent is missing. */
async function accounts(host: ReferenceHost, db: 'passwd' | 'group', names: readonly string[]): Promise<Fact<ReadonlySet<string>>> {
  if (names.length === 0) return ok(new Set());
  const r = await host.run(['getent', db, ...names], { timeoutMs: 20_000 });
  // 0: all found; 2: some not found.
  if (r.exitCode === 0 || r.exitCode === 2) return ok(accountNames(r.stdout));
  const file = await hostText(host, `/etc/${db}`);
  if (file !== undefined) return ok(accountNames(file));
  return { ok: false, why: `getent ${db} failed (exit ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}) and there is no /etc/${db}` };
}

export async function hostFacts(host: ReferenceHost, requirements: readonly BaseImageRequirement[]): Promise<BaseFacts> {
  const names = namesByKind(requirements);
  const packages = async (): Promise<BaseFacts['packages']> => {
    if (names.package.length === 0) return ok(new Map());
    const r = await host.run(['dpkg-query', '-W', '-f', '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n', ...names.package], { timeoutMs: 30_000 });
    if (r.exitCode === 127) return { ok: false, why: NO_DPKG('the host has no dpkg-query'), asWarning: true };
    // 1: some package is unknown to dpkg; the others are still listed.
    if (r.exitCode !== 0 && r.exitCode !== 1) return { ok: false, why: `dpkg-query failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 200)}` };
    return ok(parseDpkgQuery(r.stdout));
  };
  const kernel = async (): Promise<BaseFacts['kernelParameters']> => {
    const values = new Map<string, string>();
    for (const name of names.kernelParameter) {
      const value = await hostText(host, sysctlPath(name));
      if (value !== undefined) values.set(name, value.trim());
    }
    return ok(values);
  };
  const swap = async (): Promise<BaseFacts['swapMiB']> => {
    if (!requirements.some((r) => r.kind === 'swap')) return ok(0);
    const mib = swapMiBFromMeminfo((await hostText(host, '/proc/meminfo')) ?? '');
    return mib === undefined ? { ok: false, why: 'the host has no SwapTotal in /proc/meminfo' } : ok(mib);
  };
  const [users, groups, pkgs, kernelParameters, swapMiB] = await Promise.all([accounts(host, 'passwd', names.user), accounts(host, 'group', names.group), packages(), kernel(), swap()]);
  return { users, groups, packages: pkgs, kernelParameters, swapMiB };
}

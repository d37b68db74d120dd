/**
 * Reading a base's own files into facts, without I/O: account names from /etc/passwd and
 * /etc/group, installed packages from dpkg's status database (/var/lib/dpkg/status), swap
 * from /proc/meminfo. The same parsers serve a base image's files and a host's.
 */
import { compareDebianVersions, debianVersionProblem } from './debian-version.js';

/** Names (first field) of a passwd- or group-format file; comments and blank lines skipped. */
export function accountNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const name = t.slice(0, t.indexOf(':') === -1 ? t.length : t.indexOf(':'));
    // NIS compat entries (+name, -name, +) are not local accounts.
    if (name !== '' && !name.startsWith('+') && !name.startsWith('-')) out.add(name);
  }
  return out;
}

/** One package as dpkg records it; `installed` is dpkg's "install ok installed". */
export interface PackageState {
  readonly name: string;
  readonly version: string | undefined;
  /** The third word of `Status:` (installed, config-files, half-installed, unpacked, ...). */
  readonly state: string;
  readonly installed: boolean;
}

/**
 * dpkg's status file: stanzas of `Field: value` lines separated by blank lines. A package
 * present for several architectures keeps its newest installed version.
 */
export function parseDpkgStatus(text: string): Map<string, PackageState> {
  const out = new Map<string, PackageState>();
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      // Continuation lines (long descriptions) start with white space.
      if (line === '' || line.startsWith(' ') || line.startsWith('\t')) continue;
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const name = fields.get('package');
    if (!name) continue;
    const state = (fields.get('status') ?? '').split(/\s+/)[2] ?? 'unknown';
    add(out, { name, version: fields.get('version'), state, installed: state === 'installed' });
  }
  return out;
}

/** `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'` output (`ii ` = installed). */
export function parseDpkgQuery(text: string): Map<string, PackageState> {
  const out = new Map<string, PackageState>();
  for (const line of text.split('\n')) {
    const [rawName, version, abbrev] = line.split('\t');
    if (!rawName) continue;
    const name = rawName.replace(/:[a-z0-9-]+$/, '');
    const status = (abbrev ?? '').charAt(1);
    const state = STATUS_ABBREV[status] ?? 'unknown';
    add(out, { name, version: version || undefined, state, installed: state === 'installed' });
  }
  return out;
}

/** The second letter of dpkg's status abbreviation. */
const STATUS_ABBREV: Readonly<Record<string, string>> = {
  n: 'not-installed',
  c: 'config-files',
  H: 'half-installed',
  U: 'unpacked',
  F: 'half-configured',
  W: 'triggers-awaited',
  t: 'triggers-pending',
  i: 'installed',
};

function add(out: Map<string, PackageState>, p: PackageState): void {
  const prev = out.get(p.name);
  if (!prev || better(p, prev)) out.set(p.name, p);
}

function better(a: PackageState, b: PackageState): boolean {
  if (a.installed !== b.installed) return a.installed;
  if (a.version === undefined || b.version === undefined || debianVersionProblem(a.version) || debianVersionProblem(b.version)) return false;
  return compareDebianVersions(a.version, b.version) > 0;
}

/** SwapTotal of /proc/meminfo in MiB; undefined when the line is missing. */
export function swapMiBFromMeminfo(text: string): number | undefined {
  const m = /^SwapTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}

/** The file under /proc/sys that holds a sysctl name: dots are separators, a '/' in the name stands for a dot. */
export function sysctlPath(name: string): string {
  return `/proc/sys/${name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'))}`;
}

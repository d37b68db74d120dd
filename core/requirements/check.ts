/**
 * Base image and host requirements (reference 5.6.2, template validation): what plugins
 * declare is validated, then compared with the facts of one base, and every unmet requirement
 * of every plugin becomes one problem line saying what was required, what was found and how
 * to fix it. No I/O: services/validation gathers the facts.
 */
import type { BaseImageRequirement, RequirementSeverity } from '../plugin-contract.js';
import { compareDebianVersions, debianVersionProblem } from './debian-version.js';
import type { PackageState } from './facts.js';

/** A fact of the base, or why it cannot be known there. */
export type Fact<T> =
  | { readonly ok: true; readonly value: T }
  /** `asWarning`: the requirement cannot apply here (a kernel setting of an image), so it is not refused. */
  | { readonly ok: false; readonly why: string; readonly asWarning?: boolean };

export interface BaseFacts {
  /** Account names that exist (at least every one asked about that exists). */
  readonly users: Fact<ReadonlySet<string>>;
  readonly groups: Fact<ReadonlySet<string>>;
  readonly packages: Fact<ReadonlyMap<string, PackageState>>;
  /** sysctl name -> value; a name missing from the map does not exist on that kernel. */
  readonly kernelParameters: Fact<ReadonlyMap<string, string>>;
  readonly swapMiB: Fact<number>;
}

export type ProblemSeverity = 'error' | 'warning';

export interface RequirementProblem {
  /** The plugin or extension that declared the requirement (or whose check reported it). */
  readonly plugin: string;
  readonly severity: ProblemSeverity;
  /** What was required: `package libc6 >= 2.28`. */
  readonly requirement: string;
  /** What the base has instead: `not installed`, `2.24-11+deb9u4`. */
  readonly found: string;
  /** A command or step that fixes it, already shaped for this base (chroot, ssh). */
  readonly fix?: string;
  /** The plugin's own words on why it needs this. */
  readonly reason?: string;
}

/** Turns a command into the step the user runs for this base (`chroot DIR ...`, `on HOST: ...`). */
export type FixStyle = (command: string) => string;

const NAME = /^[a-z_][a-z0-9_.-]*\$?$/i;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const SYSCTL = /^[a-z0-9_-]+(?:[./][A-Za-z0-9_:@-]+)*$/;

/** Everything wrong with what a plugin declared, each naming the entry; [] when all is well. */
export function requirementShapeProblems(list: unknown): string[] {
  if (!Array.isArray(list)) return [`baseImageRequirements() must return an array, not ${describe(list)}`];
  const out: string[] = [];
  list.forEach((r: unknown, i) => {
    const at = `requirement ${i + 1}`;
    if (typeof r !== 'object' || r === null) return out.push(`${at} is ${describe(r)}, not an object`);
    const o = r as Record<string, unknown>;
    const name = o['name'];
    if (o['severity'] !== undefined && o['severity'] !== 'rejection' && o['severity'] !== 'warning') out.push(`${at}: severity must be "rejection" or "warning", not ${describe(o['severity'])}`);
    if (o['message'] !== undefined && typeof o['message'] !== 'string') out.push(`${at}: message must be a string`);
    switch (o['kind']) {
      case 'user':
      case 'group':
        if (typeof name !== 'string' || !NAME.test(name) || name.length > 32) out.push(`${at}: ${String(o['kind'])} name ${describe(name)} is not an account name (letters, digits, _ . -; at most 32)`);
        break;
      case 'package': {
        if (typeof name !== 'string' || !PACKAGE.test(name)) out.push(`${at}: package name ${describe(name)} is not a Debian package name (lower-case letters, digits, + - .)`);
        const min = o['minVersion'];
        if (min !== undefined) {
          const why = typeof min === 'string' ? debianVersionProblem(min) : 'it is not a string';
          if (why) out.push(`${at}: minVersion ${describe(min)} is not a Debian version: ${why}`);
        }
        break;
      }
      case 'kernelParameter': {
        if (typeof name !== 'string' || !SYSCTL.test(name)) out.push(`${at}: kernel parameter ${describe(name)} is not a sysctl name (e.g. net.core.somaxconn)`);
        const min = o['minimum'];
        const expected = o['expected'];
        if (min !== undefined && (typeof min !== 'number' || !Number.isFinite(min))) out.push(`${at}: minimum must be a number`);
        if (expected !== undefined && typeof expected !== 'string') out.push(`${at}: expected must be a string`);
        if (min === undefined && expected === undefined) out.push(`${at}: kernel parameter ${String(name)} needs a minimum or an expected value`);
        break;
      }
      case 'swap': {
        const min = o['minimum'];
        if (typeof min !== 'number' || !Number.isFinite(min) || min < 0) out.push(`${at}: swap needs a minimum in MiB (a number from 0)`);
        break;
      }
      default:
        out.push(`${at}: kind must be user, group, package, kernelParameter or swap, not ${describe(o['kind'])}`);
    }
    return undefined;
  });
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

/** `package libc6 >= 2.28`, `kernel parameter vm.overcommit_memory = 1`, `swap >= 512 MiB`. */
export function describeRequirement(r: BaseImageRequirement): string {
  switch (r.kind) {
    case 'user':
      return `user ${r.name}`;
    case 'group':
      return `group ${r.name}`;
    case 'package':
      return `package ${r.name}${r.minVersion !== undefined ? ` >= ${r.minVersion}` : ''}`;
    case 'kernelParameter':
      return `kernel parameter ${r.name}${r.expected !== undefined ? ` = ${r.expected}` : ` >= ${r.minimum}`}`;
    case 'swap':
      return `swap >= ${r.minimum} MiB`;
  }
}

/** Compares one plugin's requirements with the facts; [] when every one is met. */
export function evaluateRequirements(plugin: string, requirements: readonly BaseImageRequirement[], facts: BaseFacts, fix: FixStyle): RequirementProblem[] {
  const out: RequirementProblem[] = [];
  for (const r of requirements) {
    const problem = check(r, facts, fix);
    if (!problem) continue;
    const severity: ProblemSeverity = problem.asWarning || severityOf(r.severity) === 'warning' ? 'warning' : 'error';
    out.push({
      plugin,
      severity,
      requirement: describeRequirement(r),
      found: problem.found,
      ...(problem.fix !== undefined ? { fix: problem.fix } : {}),
      ...(r.message ? { reason: r.message } : {}),
    });
  }
  return out;
}

function severityOf(s: RequirementSeverity | undefined): ProblemSeverity {
  return s === 'warning' ? 'warning' : 'error';
}

interface Unmet {
  readonly found: string;
  readonly fix?: string;
  readonly asWarning?: boolean;
}

function unknown(f: { why: string; asWarning?: boolean }): Unmet {
  return { found: f.why, ...(f.asWarning ? { asWarning: true } : {}) };
}

function check(r: BaseImageRequirement, facts: BaseFacts, fix: FixStyle): Unmet | undefined {
  switch (r.kind) {
    case 'user': {
      if (!facts.users.ok) return unknown(facts.users);
      return facts.users.value.has(r.name) ? undefined : { found: 'no such user', fix: fix(`useradd --system ${r.name}`) };
    }
    case 'group': {
      if (!facts.groups.ok) return unknown(facts.groups);
      return facts.groups.value.has(r.name) ? undefined : { found: 'no such group', fix: fix(`groupadd --system ${r.name}`) };
    }
    case 'package': {
      if (!facts.packages.ok) return unknown(facts.packages);
      const p = facts.packages.value.get(r.name);
      const install = fix(`apt-get install -y ${r.name}`);
      if (!p || p.state === 'not-installed') return { found: 'not installed', fix: install };
      if (!p.installed) return { found: `not fully installed (dpkg state ${p.state}${p.version ? `, version ${p.version}` : ''})`, fix: install };
      if (r.minVersion === undefined) return undefined;
      if (p.version === undefined || debianVersionProblem(p.version)) return { found: `installed with an unreadable version ${JSON.stringify(p.version ?? '')}`, fix: install };
      if (compareDebianVersions(p.version, r.minVersion) >= 0) return undefined;
      return { found: `version ${p.version} is older`, fix: `${fix(`apt-get install -y --only-upgrade ${r.name}`)} (from a release or backports that has ${r.minVersion} or later)` };
    }
    case 'kernelParameter': {
      if (!facts.kernelParameters.ok) return unknown(facts.kernelParameters);
      const value = facts.kernelParameters.value.get(r.name);
      const want = r.expected !== undefined ? r.expected.trim().replace(/\s+/g, ' ') : String(r.minimum);
      const set = `${fix(`sysctl -w ${r.name}='${want}'`)}, and keep it in /etc/sysctl.d/ (e.g. 90-abctl.conf: ${r.name} = ${want})`;
      if (value === undefined) return { found: 'this kernel has no such parameter' };
      const got = value.trim().replace(/\s+/g, ' ');
      if (r.expected !== undefined) return got === want ? undefined : { found: `it is ${got}`, fix: set };
      const first = Number(got.split(' ')[0]);
      if (!Number.isFinite(first)) return { found: `it is ${got}, not a number` };
      return first >= (r.minimum as number) ? undefined : { found: `it is ${got}`, fix: set };
    }
    case 'swap': {
      if (!facts.swapMiB.ok) return unknown(facts.swapMiB);
      if (facts.swapMiB.value >= r.minimum) return undefined;
      return {
        found: facts.swapMiB.value === 0 ? 'no swap' : `${facts.swapMiB.value} MiB`,
        fix: fix(`fallocate -l ${r.minimum}M /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile`) + ' (and add it to /etc/fstab)',
      };
    }
  }
}

/** One line per problem, errors first: `error: example: package libc6 >= 2.28: version 2.24 is older; fix: ...`. */
export function formatProblems(problems: readonly RequirementProblem[]): string[] {
  const sorted = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return sorted.map((p) => `${p.severity}: ${p.plugin}: ${p.requirement}: ${p.found}${p.reason ? ` (needed for: ${p.reason})` : ''}${p.fix ? `\n    fix: ${p.fix}` : ''}`);
}

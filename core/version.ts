/**
 * The version format of plugin.config: dotted decimal integers ("5", "2.0", "1.10.3").
 * Not semver: any number of components, no pre-release tags, and missing components
 * compare as 0, so "2" equals "2.0". Pure functions, no I/O.
 */
import { UserError } from './errors.js';

/** One or more runs of ASCII digits separated by single dots. */
export const VERSION_PATTERN = /^[0-9]+(?:\.[0-9]+)*$/;

/** The rule in words, for error messages and hints. */
export const VERSION_RULE =
  'a version is one or more runs of the digits 0-9 separated by single dots, e.g. "5", "2.0" or "1.10.3"';

export function isVersion(s: string): boolean {
  return typeof s === 'string' && VERSION_PATTERN.test(s);
}

/**
 * Why `s` is not a version, or undefined when it is one. The reason names the first
 * offending detail so a user does not have to diff the string against the grammar.
 */
export function explainVersion(s: string): string | undefined {
  if (typeof s !== 'string') return 'not a string';
  if (VERSION_PATTERN.test(s)) return undefined;
  if (s === '') return 'it is empty';
  if (s.trim() !== s) return 'it has leading or trailing whitespace';
  if (s.startsWith('.')) return 'it starts with a dot';
  if (s.endsWith('.')) return 'it ends with a dot';
  if (s.includes('..')) return 'it has an empty component (two dots in a row)';
  const bad = /[^0-9.]/.exec(s);
  if (bad) {
    const ch = bad[0];
    if (ch === '-' || ch === '+') return `it contains a sign ("${ch}"); components are unsigned integers`;
    return `it contains "${ch}"; only digits and dots are allowed`;
  }
  return 'it does not match the version grammar';
}

/** Throws a UserError (code VERSION_INVALID) naming the string, why, and the rule. */
export function parseVersion(s: string): number[] {
  assertVersion(s);
  // Exact up to Number.MAX_SAFE_INTEGER; compareVersions does not go through numbers.
  return s.split('.').map(Number);
}

function assertVersion(s: string): void {
  if (!isVersion(s)) {
    throw new UserError('VERSION_INVALID', `invalid version "${String(s)}": ${explainVersion(s) ?? 'bad format'}`, {
      hint: VERSION_RULE,
    });
  }
}

/**
 * Compares two versions component by component as integers; missing components count
 * as 0. Components are compared as digit strings (leading zeros stripped, then length,
 * then lexically), so arbitrarily long components keep full precision. Throws on an
 * invalid version.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  assertVersion(a);
  assertVersion(b);
  if (a === b) return 0;
  const pa = a.split('.');
  const pb = b.split('.');
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareComponent(pa[i] ?? '0', pb[i] ?? '0');
    if (c !== 0) return c;
  }
  return 0;
}

function compareComponent(x: string, y: string): -1 | 0 | 1 {
  const sx = stripZeros(x);
  const sy = stripZeros(y);
  if (sx.length !== sy.length) return sx.length < sy.length ? -1 : 1;
  if (sx === sy) return 0;
  return sx < sy ? -1 : 1;
}

function stripZeros(d: string): string {
  let i = 0;
  while (i < d.length - 1 && d.charCodeAt(i) === 48 /* '0' */) i++;
  return i === 0 ? d : d.slice(i);
}

/** Joins components into a version string; each must be a non-negative integer (or a digit string). */
export function formatVersion(parts: readonly (number | bigint | string)[]): string {
  if (parts.length === 0) throw new UserError('VERSION_INVALID', 'cannot format an empty version', { hint: VERSION_RULE });
  const text = parts
    .map((p) => {
      if (typeof p === 'bigint') {
        if (p < 0n) throw new UserError('VERSION_INVALID', `version component ${p} is negative`, { hint: VERSION_RULE });
        return p.toString();
      }
      if (typeof p === 'number') {
        if (!Number.isSafeInteger(p) || p < 0) {
          throw new UserError('VERSION_INVALID', `version component ${p} is not a non-negative integer`, {
            hint: VERSION_RULE,
          });
        }
        return String(p);
      }
      return p;
    })
    .join('.');
  assertVersion(text);
  return text;
}

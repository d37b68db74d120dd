/**
 * Debian package versions (`[epoch:]upstream[-revision]`), parsed and ordered the way dpkg does
 * (lib/dpkg/version.c: parseversion, verrevcmp). Written here rather than taken from npm: the
 * one package there (deb-version-compare) mis-parses epochs and compares digit runs with
 * parseInt, and dpkg's rules are short. test/validation/debian-version.test.ts checks it
 * against dpkg's own examples and against `dpkg --compare-versions` on this machine.
 */

export interface DebianVersion {
  readonly epoch: number;
  readonly upstream: string;
  /** '' when the version has no `-revision`. */
  readonly revision: string;
}

/**
 * Why `text` is not a Debian version, or undefined when it is one. Stricter than dpkg, which
 * only warns about an upstream version not starting with a digit: plugins declare versions
 * here, and such a one is a typo.
 */
export function debianVersionProblem(text: string): string | undefined {
  return parse(text, true).problem;
}

/** Parses a version as dpkg does (leniently); throws an Error naming the problem when it is not one. */
export function parseDebianVersion(text: string): DebianVersion {
  const r = parse(text, false);
  if (r.problem !== undefined) throw new Error(`"${text}" is not a Debian version: ${r.problem}`);
  return r.version;
}

function parse(text: string, strict: boolean): { version: DebianVersion; problem?: undefined } | { problem: string } {
  const s = text.trim();
  if (s === '') return { problem: 'it is empty' };
  if (/\s/.test(s)) return { problem: 'it contains white space' };
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon !== -1) {
    const e = s.slice(0, colon);
    if (e === '') return { problem: 'the epoch before ":" is empty' };
    if (!/^\d+$/.test(e)) return { problem: 'the epoch is not a number' };
    epoch = Number(e);
    if (epoch > 2147483647) return { problem: 'the epoch is too big' };
    rest = s.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (upstream === '') return { problem: 'the upstream version is empty' };
  if (hyphen !== -1 && revision === '') return { problem: 'the revision after "-" is empty' };
  if (strict && !/^\d/.test(upstream)) return { problem: 'the upstream version does not start with a digit' };
  if (!/^[A-Za-z0-9.+~:-]*$/.test(upstream)) return { problem: 'the upstream version has a character other than letters, digits and . + ~ - :' };
  if (!/^[A-Za-z0-9.+~]*$/.test(revision)) return { problem: 'the revision has a character other than letters, digits and . + ~' };
  return { version: { epoch, upstream, revision } };
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** dpkg's weight of a non-digit: '~' sorts before everything, even the end; letters before other marks. */
function order(c: string): number {
  if (c === '' || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** Alternating runs of non-digits (by `order`) and digits (by numeric value), as dpkg's verrevcmp. */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charAt(i))) || (j < b.length && !isDigit(b.charAt(j)))) {
      const d = order(a.charAt(i)) - order(b.charAt(j));
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (a.charAt(i) === '0') i++;
    while (b.charAt(j) === '0') j++;
    let firstDiff = 0;
    while (isDigit(a.charAt(i)) && isDigit(b.charAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charAt(i))) return 1;
    if (isDigit(b.charAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareDebianVersions(a: string | DebianVersion, b: string | DebianVersion): number {
  const x = typeof a === 'string' ? parseDebianVersion(a) : a;
  const y = typeof b === 'string' ? parseDebianVersion(b) : b;
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

import { posix } from 'node:path';
import { compileExcludes } from '../../core/metadata/index.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { DEFAULT_SECRET_PATHS } from './secrets.js';

/**
 * GNU tar arguments that give a remote `tar -C root -cf - .` the same exclude semantics as
 * the local walker (core/metadata excludes, i.e. picomatch with dot files and no negation).
 *
 * Tar's wildcards (fnmatch) only agree with picomatch on part of the syntax, so a pattern is
 * translated only when the translation is exact:
 * - `*` and literal characters, no `**`: anchored at the root (`./foo`), `*` not crossing
 *   `/` (so `logs/*.log` keeps `logs/sub/x.log`). Tar does not descend into an excluded
 *   directory, which gives `foo` and `bar/*` their meaning.
 * - with `**` segments: the other segments literal, except a last segment `*suffix` right
 *   after a `**`. Each `**` becomes "nothing" or `*` with `*` crossing `/` (one pattern
 *   per combination), which is exactly "zero or more whole segments"; `a/**` so also drops
 *   `a` itself, as picomatch does.
 * Everything else (`?`, brackets, braces, parentheses/extglobs, backslashes, `**` inside a
 * segment...) differs in corner cases: picomatch reads `(p)` as a group and `[!1]` unlike
 * fnmatch, and `?` counts bytes in tar's C locale but characters in picomatch. Those
 * patterns are matched here, with the local matcher, against a listing of the host, and
 * the paths they drop are passed to tar as literal names (see resolveTarExcludes).
 */
export interface TarExcludePlan {
  /** Exclude arguments for the patterns tar can say exactly, and for the default secrets. */
  readonly args: readonly string[];
  /** Patterns that need a listing of the host (resolveTarExcludes). */
  readonly needsListing: readonly string[];
}

/** Characters whose meaning differs between picomatch and GNU fnmatch (or in a C locale). */
const NOT_EXACT = /[?[\]{}()|\\]/;
/** More `**` segments than this would give too many tar patterns (2^n); list instead. */
const MAX_GLOBSTARS = 3;

function clean(pattern: string): string {
  return pattern.replace(/^(?:\.\/+)+/, '').replace(/\/+$/, '');
}

/**
 * The tar patterns (without `./`) for one exclude and whether `*` must cross `/`, or
 * undefined when tar cannot express it exactly.
 */
export function tarPatternsFor(pattern: string): { readonly matchSlash: boolean; readonly patterns: readonly string[] } | undefined {
  const p = clean(pattern);
  if (p === '' || NOT_EXACT.test(p)) return undefined;
  const segs = p.split('/');
  if (segs.some((s) => s !== '**' && s.includes('**'))) return undefined;
  const stars = segs.filter((s) => s === '**').length;
  if (stars === 0) return { matchSlash: false, patterns: [p] };
  if (stars > MAX_GLOBSTARS) return undefined;

  // `**/*suffix` at the end: one `*` crossing `/` says "any dirs, then a name ending in suffix".
  let tail: string | undefined;
  const last = segs[segs.length - 1]!;
  if (segs.length >= 2 && segs[segs.length - 2] === '**' && last.startsWith('*') && !last.slice(1).includes('*')) {
    tail = last;
    segs.splice(segs.length - 2, 2);
  }
  if (segs.some((s) => s !== '**' && s.includes('*'))) return undefined;

  let combos: string[][] = [[]];
  for (const s of segs) {
    combos = s === '**' ? combos.flatMap((c) => [c, [...c, '*']]) : combos.map((c) => [...c, s]);
  }
  const patterns = new Set<string>();
  for (const c of combos) {
    const parts = tail === undefined ? c : [...c, tail];
    // `**` alone as "nothing" is the root, which no exclude drops.
    if (parts.length > 0) patterns.add(parts.join('/'));
  }
  return { matchSlash: true, patterns: [...patterns] };
}

/** Tar arguments for the exactly translatable excludes and the default secrets; the rest is left to a listing. */
export function planTarExcludes(root: string, excludes: readonly string[], allowSecrets: readonly string[] = []): TarExcludePlan {
  const args: string[] = ['--anchored', '--wildcards'];
  const needsListing: string[] = [];
  const add = (pattern: string, crossesSlash: boolean): void => {
    args.push(crossesSlash ? '--wildcards-match-slash' : '--no-wildcards-match-slash', `--exclude=./${pattern}`);
  };
  for (const e of excludes) {
    const t = tarPatternsFor(e);
    if (!t) needsListing.push(clean(e));
    else for (const p of t.patterns) add(p, t.matchSlash);
  }
  // The default secrets that fall under this root, unless the definition names them.
  const base = root.endsWith('/') ? root : `${root}/`;
  for (const secret of DEFAULT_SECRET_PATHS) {
    if (allowSecrets.includes(secret)) continue;
    if (secret.startsWith(base)) add(posix.relative(root, secret), false);
  }
  return { args, needsListing };
}

/** `--exclude` arguments matching exactly these root-relative names (no wildcards). */
export function literalExcludeArgs(paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  // Last in the list: the switch applies to every --exclude after it.
  return ['--no-wildcards', ...paths.map((p) => `--exclude=./${p}`)];
}

/** Leading segments of a pattern without any special character: the listing can start there. */
function staticPrefix(pattern: string): { prefix: string; rest: string } {
  const segs = pattern.split('/');
  let i = 0;
  while (i < segs.length - 1 && !/[*?[\]{}()|\\!+@]/.test(segs[i]!)) i++;
  return { prefix: segs.slice(0, i).join('/'), rest: segs.slice(i).join('/') };
}

/**
 * Full tar exclude arguments for a capture from `host`: the plan's arguments plus, for the
 * patterns tar cannot say exactly, the names they drop on the host now (the topmost ones:
 * tar does not descend into an excluded directory).
 */
export async function resolveTarExcludes(
  host: ReferenceHost,
  root: string,
  excludes: readonly string[],
  allowSecrets: readonly string[] = [],
): Promise<string[]> {
  const plan = planTarExcludes(root, excludes, allowSecrets);
  if (plan.needsListing.length === 0) return [...plan.args];
  const matcher = compileExcludes(plan.needsListing);
  const dropped = new Set<string>();
  for (const pattern of plan.needsListing) {
    const { prefix, rest } = staticPrefix(pattern);
    // Without `**`, braces or extglobs a pattern matches at exactly its own depth.
    const anyDepth = /\*\*|[{(]/.test(rest);
    const walk = anyDepth ? '**' : rest.split('/').map(() => '*').join('/');
    const cwd = prefix === '' ? root : posix.join(root, prefix);
    for (const rel of await host.glob(walk, { cwd, dot: true, type: 'any' })) {
      const full = prefix === '' ? rel : `${prefix}/${rel}`;
      if (matcher.dropsEntry(full)) dropped.add(full);
    }
  }
  // Only the topmost: a name under a dropped directory is never reached.
  const topmost = [...dropped].sort().filter((p) => !p.split('/').some((_, i, segs) => i > 0 && dropped.has(segs.slice(0, i).join('/'))));
  return [...plan.args, ...literalExcludeArgs(topmost)];
}

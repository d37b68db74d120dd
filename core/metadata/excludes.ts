/**
 * File set excludes, relative to the definition's root. One rule covers the three forms
 * people write: a pattern drops every path it matches, and a dropped directory takes
 * everything under it along.
 *
 *   `foo`         matches the directory foo itself: foo is absent from the capture.
 *   `bar/*`       matches every entry directly in bar (files and subdirectories, so
 *                 everything below goes too) but not bar: bar stays, empty.
 *   `logs/*.log`  matches only the .log entries in logs; logs and its other files stay.
 *
 * `*` does not cross `/` (use `**` for any depth), dot files are matched like others,
 * and a leading `!` is a literal character, not negation (`!` is legal in names).
 * Matching uses picomatch, fast-glob's own matcher, so excludes read the same way as the
 * globs used to list files.
 */
import picomatch from 'picomatch';
import { UserError } from '../errors.js';
import { checkRelativePath } from './relative-paths.js';

const MATCH_OPTIONS = { dot: true, nonegate: true } as const;

/**
 * Patterns picomatch already compiled without error (compiling is deterministic): the
 * same few excludes come back for every appliance a large catalog reads. Bounded.
 */
const COMPILED_OK = new Set<string>();

/** Checks and normalizes one exclude (relative, no `..`, no leading `/`; a trailing `/` is dropped). */
export function checkExcludePattern(pattern: string, where?: string): string {
  const normalized = checkRelativePath('exclude', pattern, where);
  if (COMPILED_OK.has(normalized)) return normalized;
  try {
    picomatch(normalized, MATCH_OPTIONS);
  } catch (err) {
    throw new UserError('PATH_INVALID', `exclude "${pattern}" is not a valid glob pattern`, { where, cause: err });
  }
  if (COMPILED_OK.size >= 1000) COMPILED_OK.clear();
  COMPILED_OK.add(normalized);
  return normalized;
}

/**
 * Excludes compiled once, for checking many paths (capture walks tens of thousands of
 * files). Paths are POSIX and relative to the root: `logs/a.log`, no leading `/` or `./`.
 */
export class ExcludeMatcher {
  readonly patterns: readonly string[];
  readonly #compiled: readonly { readonly pattern: string; readonly test: (path: string) => boolean }[];
  /** Directory verdicts, so the ancestors shared by many files are tested once. */
  readonly #dirCache = new Map<string, string | undefined>();

  constructor(patterns: readonly string[]) {
    this.patterns = Object.freeze(patterns.map((p) => checkExcludePattern(p)));
    this.#compiled = this.patterns.map((pattern) => ({ pattern, test: picomatch(pattern, MATCH_OPTIONS) }));
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  /**
   * Only the entry itself, not its ancestors: for walkers that already skip the insides
   * of dropped directories. Returns the first matching pattern.
   */
  entryMatch(relPath: string): string | undefined {
    for (const c of this.#compiled) if (c.test(relPath)) return c.pattern;
    return undefined;
  }

  /** True when the entry itself matches an exclude (see entryMatch). */
  dropsEntry(relPath: string): boolean {
    return this.entryMatch(relPath) !== undefined;
  }

  /** The pattern that drops `relPath` (directly or through a dropped ancestor directory), or undefined. */
  match(relPath: string): string | undefined {
    const path = relPath.startsWith('./') ? relPath.slice(2) : relPath;
    if (this.#compiled.length === 0 || path === '' || path === '.') return undefined;
    let slash = path.indexOf('/');
    while (slash !== -1) {
      const dir = path.slice(0, slash);
      let verdict: string | undefined;
      if (this.#dirCache.has(dir)) verdict = this.#dirCache.get(dir);
      else {
        verdict = this.entryMatch(dir);
        this.#dirCache.set(dir, verdict);
      }
      if (verdict !== undefined) return verdict;
      slash = path.indexOf('/', slash + 1);
    }
    return this.entryMatch(path.endsWith('/') ? path.slice(0, -1) : path);
  }

  /** True when the path is left out of the capture. */
  excludes(relPath: string): boolean {
    return this.match(relPath) !== undefined;
  }
}

/** Compiles excludes once; reuse the result for every path of a capture. */
export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  return new ExcludeMatcher(patterns);
}

/** One-off check (compiles each call; use compileExcludes for many paths). */
export function isExcluded(relPath: string, patterns: readonly string[]): boolean {
  return new ExcludeMatcher(patterns).excludes(relPath);
}

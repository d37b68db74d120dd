/**
 * Host identity and secrets a capture leaves out unless the definition names them
 * explicitly (after blueprint's ignore list): copying them would clone one host's
 * identity, or its password hashes, onto every deployed instance.
 */

/** Absolute paths; `*` matches within one path segment. Backups (`shadow-`) hold the same secrets. */
export const DEFAULT_SECRET_PATHS: readonly string[] = Object.freeze([
  '/etc/shadow',
  '/etc/shadow-',
  '/etc/gshadow',
  '/etc/gshadow-',
  '/etc/ssh/ssh_host_*',
]);

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}$`);
}

/** A compiled secret list: `test(absPath)` is true for a path the capture must skip. */
export class SecretFilter {
  readonly #patterns: readonly RegExp[];
  readonly #allowed: ReadonlySet<string>;
  /** Longest literal prefix shared by the patterns, to rule out most paths with one comparison. */
  readonly #prefixes: readonly string[];

  constructor(patterns: readonly string[] = DEFAULT_SECRET_PATHS, allowed: readonly string[] = []) {
    this.#patterns = patterns.map(globToRegExp);
    this.#prefixes = patterns.map((p) => p.slice(0, p.lastIndexOf('/') + 1));
    this.#allowed = new Set(allowed.map((a) => (a.length > 1 ? a.replace(/\/+$/, '') : a)));
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  test(absPath: string): boolean {
    for (let i = 0; i < this.#patterns.length; i++) {
      if (!absPath.startsWith(this.#prefixes[i] ?? '')) continue;
      if (this.#patterns[i]?.test(absPath)) return !this.#allowed.has(absPath);
    }
    return false;
  }
}

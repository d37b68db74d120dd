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

/** The directories of a pattern before its first `*`: every path it matches starts with them. */
function literalDirPrefix(glob: string): string {
  const star = glob.indexOf('*');
  const literal = star < 0 ? glob : glob.slice(0, star);
  return literal.slice(0, literal.lastIndexOf('/') + 1);
}

/** A compiled secret list: `test(absPath)` is true for a path the capture must skip. */
export class SecretFilter {
  readonly #patterns: readonly RegExp[];
  readonly #allowed: ReadonlySet<string>;
  /** Each pattern's literal directories, to rule out most paths with one comparison. */
  readonly #prefixes: readonly string[];

  constructor(patterns: readonly string[] = DEFAULT_SECRET_PATHS, allowed: readonly string[] = []) {
    this.#patterns = patterns.map(globToRegExp);
    this.#prefixes = patterns.map(literalDirPrefix);
    this.#allowed = new Set(allowed.map((a) => (a.length > 1 ? a.replace(/\/+$/, '') : a)));
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /**
   * Whether any path starting with `dirSlash` (a directory and its `/`) can pass `test`: a
   * path passes only when it starts with a pattern's literal prefix, which is impossible when
   * neither that prefix nor `dirSlash` starts with the other.
   */
  mayMatchUnder(dirSlash: string): boolean {
    return this.#prefixes.some((p) => p.startsWith(dirSlash) || dirSlash.startsWith(p));
  }

  test(absPath: string): boolean {
    for (let i = 0; i < this.#patterns.length; i++) {
      if (!absPath.startsWith(this.#prefixes[i] ?? '')) continue;
      if (this.#patterns[i]?.test(absPath)) return !this.#allowed.has(absPath);
    }
    return false;
  }
}

/**
 * Private keys and credential stores found anywhere in a file set (issue 9.6): after the
 * absolute paths above, a capture also skips regular files that look like one, by name or
 * by content. The list is documented in docs/plugin-contract.md ("What a capture keeps").
 */

/** Exact file names: password hashes, SSH user keys, client credential files. */
const SECRET_FILE_NAMES: ReadonlySet<string> = new Set([
  'shadow',
  'shadow-',
  'gshadow',
  'gshadow-',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  'id_ecdsa_sk',
  'id_ed25519_sk',
  '.pgpass',
  '.netrc',
  '.git-credentials',
  'secring.gpg',
]);

/** Endings of private key and key store files. */
const SECRET_SUFFIXES: readonly string[] = ['.key', '.p12', '.pfx', '.keytab'];

/** Files whose meaning comes from their directory: `dir/name`, or every file in `dir` (`*`). */
const SECRET_IN_DIR: Readonly<Record<string, string>> = {
  '.aws': 'credentials',
  '.docker': 'config.json',
  '.kube': 'config',
  'private-keys-v1.d': '*',
};

/** True for a regular file the name rules skip; `relPath` is relative to the root (`a/b`). */
export function isSecretName(relPath: string): boolean {
  const slash = relPath.lastIndexOf('/');
  const name = slash < 0 ? relPath : relPath.slice(slash + 1);
  return isSecretFileName(name, slash > 0 ? relPath.slice(relPath.lastIndexOf('/', slash - 1) + 1, slash) : undefined);
}

/** isSecretName from the parts a walk already has: the file's name and its directory's name (undefined at the root). */
export function isSecretFileName(name: string, parent: string | undefined): boolean {
  if (SECRET_FILE_NAMES.has(name)) return true;
  for (const s of SECRET_SUFFIXES) if (name.endsWith(s) && name.length > s.length) return true;
  if (name.startsWith('ssh_host_') && name.endsWith('_key')) return true;
  if (parent !== undefined) {
    const inDir = SECRET_IN_DIR[parent];
    if (inDir !== undefined && Object.hasOwn(SECRET_IN_DIR, parent) && (inDir === '*' || inDir === name)) return true;
  }
  return false;
}

/** Files up to this size are read whole for the content rule; larger ones are judged by name only. */
export const SECRET_SNIFF_BYTES = 64 * 1024;

/** The byte strings the content rule looks for (latin1 text), by name. */
export const SECRET_NEEDLES: Readonly<Record<'pemEnd' | 'pemBegin' | 'putty', string>> = Object.freeze({
  pemEnd: 'PRIVATE KEY-----',
  pemBegin: '-----BEGIN ',
  putty: 'PuTTY-User-Key-File-',
});

export type SecretNeedleBytes = Readonly<Record<keyof typeof SECRET_NEEDLES, Buffer>>;

const NEEDLE_BYTES: SecretNeedleBytes = {
  pemEnd: Buffer.from(SECRET_NEEDLES.pemEnd, 'latin1'),
  pemBegin: Buffer.from(SECRET_NEEDLES.pemBegin, 'latin1'),
  putty: Buffer.from(SECRET_NEEDLES.putty, 'latin1'),
};

/**
 * The content rule: a line starting `-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----` (grep's `^`:
 * after a newline), or a PuTTY key file. Uses nothing but its arguments and `Buffer`: the
 * capture's reader threads run its source text on what they read (capture-reader.ts).
 */
export function contentHoldsKey(data: Buffer, needles: SecretNeedleBytes): boolean {
  const { pemEnd, pemBegin, putty } = needles;
  let at = data.indexOf(pemEnd);
  while (at >= 0) {
    const lineStart = data.lastIndexOf(0x0a, at) + 1;
    if (data.subarray(lineStart, lineStart + pemBegin.length).equals(pemBegin)) {
      let ok = true;
      for (let i = lineStart + pemBegin.length; i < at; i++) {
        const c = data[i]!;
        // A-Z, 0-9 and space: RSA, EC, DSA, ENCRYPTED, OPENSSH, PGP ... PRIVATE KEY
        if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20)) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    at = data.indexOf(pemEnd, at + 1);
  }
  const p = data.indexOf(putty);
  return p === 0 || (p > 0 && data[p - 1] === 0x0a);
}

/** True for file content (a whole file of at most SECRET_SNIFF_BYTES) that holds a private key. */
export function isSecretContent(data: Buffer): boolean {
  return contentHoldsKey(data, NEEDLE_BYTES);
}

/**
 * The whole skip rule for one regular file, the same on the local and the SSH capture paths:
 * the default absolute paths, then names, then (for small files) content. `allowed` holds
 * root-relative paths the definition captures on purpose.
 */
export class SecretRules {
  readonly #paths: SecretFilter;
  readonly #allowed: ReadonlySet<string>;
  readonly #base: string;

  /**
   * `root`: the file set root (absolute). `allowRelative`: root-relative paths to capture
   * although a rule matches. `secretPaths`/`allowAbsolute`: see SecretFilter.
   */
  constructor(root: string, opts: { allowRelative?: readonly string[]; secretPaths?: readonly string[]; allowAbsolute?: readonly string[] } = {}) {
    this.#base = root === '/' ? '' : root.replace(/\/+$/, '');
    const rel = (opts.allowRelative ?? []).map((p) => p.replace(/^(?:\.\/+)+/, '').replace(/\/+$/, ''));
    // An absolute path the definition names is allowed under every rule, as a relative one is.
    for (const a of opts.allowAbsolute ?? []) if (a.startsWith(`${this.#base}/`)) rel.push(a.slice(this.#base.length + 1));
    this.#allowed = new Set(rel);
    const allowAbs = [...(opts.allowAbsolute ?? []), ...rel.map((p) => `${this.#base}/${p}`)];
    this.#paths = new SecretFilter(opts.secretPaths ?? DEFAULT_SECRET_PATHS, allowAbs);
    this.#pathsApply = !this.#paths.empty && this.#paths.mayMatchUnder(`${this.#base}/`);
  }

  /** False when no secret path can lie under the root: then byPath needs no string per entry. */
  readonly #pathsApply: boolean;

  /** By path: any entry type (a default secret path may be a directory). */
  byPath(relPath: string): boolean {
    return this.#pathsApply && this.#paths.test(`${this.#base}/${relPath}`);
  }

  /** By name: regular files only. */
  byName(relPath: string): boolean {
    return isSecretName(relPath) && !this.#allowed.has(relPath);
  }

  /** byName for a walk that has the name and the directory's name (undefined at the root) at hand. */
  byFileName(relPath: string, name: string, parent: string | undefined): boolean {
    return isSecretFileName(name, parent) && !this.#allowed.has(relPath);
  }

  /** By content: regular files of at most SECRET_SNIFF_BYTES, given whole. */
  byContent(relPath: string, data: Buffer): boolean {
    return isSecretContent(data) && !this.#allowed.has(relPath);
  }

  /** By content, where isSecretContent already ran (`holdsKey` is its answer). */
  byCheckedContent(relPath: string, holdsKey: boolean): boolean {
    return holdsKey && !this.#allowed.has(relPath);
  }
}

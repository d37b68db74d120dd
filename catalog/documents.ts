/**
 * Reading the catalog's documents: parse, decrypt, upgrade, and remember what was seen.
 *
 * The memory of seen documents (inode, size, mtime, hash, stored ciphertexts, member
 * references) is the read cache: it lets a put tell unchanged documents apart without
 * reading them again, and keep the ciphertext of unchanged passwords.
 */
import { hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { memberFromPlain, type AssemblyMember } from '../core/metadata/assembly.js';
import { childDir, documentName, isStoredKind, topDir, upgradeDocument, type ContentSlot, type StoredKind } from './format.js';
import type { CatalogKey } from './key.js';
import { MAX_DOCUMENT_BYTES, tooLarge } from './limits.js';
import { isFileProblem, notFound } from './problems.js';
import { SECRET_PREFIX } from './secrets.js';
import { exists } from './txn.js';
import { parseDocument, type Plain } from './xml-codec.js';

export interface MemberRef {
  readonly kind: StoredKind;
  readonly name: string;
}

export interface LoadedDocument {
  readonly kind: StoredKind;
  readonly plain: Plain;
  readonly file: string;
}

/** What this process last saw of a document: lets a put skip unchanged files without re-reading them. */
export interface SeenDocument {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly hash: string;
  /** `id \0 clear` -> stored ciphertext, to re-use for unchanged passwords. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly kind: StoredKind;
  /** Stored children named by the document. */
  readonly refs: readonly MemberRef[];
}

/** A document as written by a commit, to remember once it is in place. */
export interface WrittenDocument {
  readonly rel: string;
  readonly text: string;
  readonly secrets: Map<string, string>;
  readonly kind: StoredKind;
  readonly refs: MemberRef[];
}

/** Existing stored objects of a tree: directory (relative) -> kind. */
export type TreeShape = Map<string, StoredKind>;

// One-shot hashing: half the cost of createHash() for the thousands of small documents a read sees.
export const sha = (text: string | Uint8Array) => hash('sha256', text, 'hex');

function asRef(parent: StoredKind, m: Plain): MemberRef | undefined {
  const kind = parent === 'atomicAssembly' ? 'appliance' : m['kind'];
  const name = m['name'];
  return isStoredKind(kind) && typeof name === 'string' ? { kind, name } : undefined;
}

export function memberRefs(doc: { kind: StoredKind; plain: Plain }): MemberRef[] {
  if (doc.kind === 'appliance') return [];
  const list = doc.plain[doc.kind === 'atomicAssembly' ? 'appliances' : 'members'];
  if (!Array.isArray(list)) return [];
  return list.map((m) => asRef(doc.kind, m as Plain)).filter((r): r is MemberRef => r !== undefined);
}

export function kindsOf(kind: 'appliance' | 'assembly'): StoredKind[] {
  return kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly'];
}

function boxlessClear(file: string): never {
  throw new UserError('CATALOG_SECRET_INVALID', 'a password value is not encrypted (expected enc:v1:...)', {
    where: file,
    hint: 'set the password again with abctl instead of editing the file',
  });
}

/** UTF-8 that does not decode is a damaged file (decoding it leniently would store U+FFFD on the next write). */
function badEncoding(bytes: Buffer, file: string): UserError {
  const text = bytes.toString('utf8');
  const at = text.indexOf('\uFFFD');
  const line = at < 0 ? undefined : text.slice(0, at).split('\n').length;
  return new UserError('CATALOG_FILE_INVALID', `the file is not valid UTF-8${line === undefined ? '' : ` (first bad byte sequence on line ${line})`}`, {
    where: file,
    hint: 'restore the file from a backup, or fix the bytes on that line; the rest of the catalog is not affected',
  });
}

/** Reads a document's bytes as text: size checked before reading, strict UTF-8. Synchronous, see loadDocument. */
export function readDocumentText(file: string): { text: string; ino: number; size: number; mtimeMs: number } {
  const fd = openSync(file, 'r');
  try {
    const info = fstatSync(fd);
    if (info.size > MAX_DOCUMENT_BYTES) throw tooLarge(info.size, file);
    const bytes = readFileSync(fd);
    // isUtf8 is one SIMD pass; toString then decodes what is known to be valid.
    if (!isUtf8(bytes)) throw badEncoding(bytes, file);
    return { text: bytes.toString('utf8'), ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

export class DocumentStore {
  readonly #seen = new Map<string, SeenDocument>();

  constructor(
    readonly dir: string,
    private readonly key: CatalogKey,
  ) {}

  /** Reads, parses, decrypts and upgrades one document; remembers what it saw. */
  async load(rel: string, kinds: readonly StoredKind[]): Promise<LoadedDocument> {
    const file = join(this.dir, rel);
    // Synchronous on purpose: documents are small local files, and each async fs call is a
    // thread-pool round trip; for 2,000 documents that was ~4x the whole read (see docs/catalog.md).
    const { text, ino, size, mtimeMs } = readDocumentText(file);
    const box = text.includes(SECRET_PREFIX) ? await this.key.load(false, file) : undefined;
    const secrets = new Map<string, string>();
    const parsed = parseDocument(text, {
      where: file,
      rootOnly: ['formatVersion'],
      secret: (stored, id) => {
        if (!box) return boxlessClear(file);
        const clear = box.decrypt(stored, file);
        secrets.set(`${id}\0${clear}`, stored);
        return clear;
      },
    });
    const doc = upgradeDocument(parsed, file);
    if (!isStoredKind(doc.rootName) || !kinds.includes(doc.rootName)) {
      throw new UserError('CATALOG_FILE_INVALID', `the root element is <${doc.rootName}>, expected ${kinds.map((k) => `<${k}>`).join(' or ')}`, { where: file });
    }
    const loaded: LoadedDocument = { kind: doc.rootName, plain: doc.plain, file };
    this.#seen.set(file, { ino, size, mtimeMs, hash: sha(text), secrets, kind: loaded.kind, refs: memberRefs(loaded) });
    return loaded;
  }

  /**
   * Loads a stored object and everything stored beneath it, back into one plain form with `kind`.
   * `prebuilt` (top level only): appliance members of an assembly are converted into it by
   * position, and their slot in the plain list is left null.
   */
  async loadTree(kinds: readonly StoredKind[], dirRel: string, prebuilt?: AssemblyMember[]): Promise<LoadedDocument> {
    const doc = await this.load(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
    const plain: Plain = { kind: doc.kind, ...doc.plain };
    if (doc.kind !== 'appliance') {
      const key = doc.kind === 'atomicAssembly' ? 'appliances' : 'members';
      const list = Array.isArray(doc.plain[key]) ? (doc.plain[key] as Plain[]) : [];
      // One member after the other: loading is synchronous I/O plus parsing, so running them
      // "in parallel" only kept every text and parse tree alive at once (GC time).
      const members: unknown[] = [];
      for (const m of list) {
        const ref = asRef(doc.kind, m);
        if (!ref) {
          members.push(m);
          continue;
        }
        const child = await this.loadTree([ref.kind], `${dirRel}/${childDir(doc.kind, ref.name)}`);
        if (child.plain['name'] !== ref.name) {
          throw new UserError('CATALOG_FILE_INVALID', `member "${ref.name}" is stored under a file naming it "${String(child.plain['name'])}"`, { where: child.file });
        }
        const built = prebuilt && doc.kind === 'assembly' && child.kind === 'appliance' ? convertEarly(child.plain) : undefined;
        if (built) {
          prebuilt![members.length] = built;
          members.push(null);
        } else members.push(child.plain);
      }
      plain[key] = members;
    }
    return { kind: doc.kind, plain, file: doc.file };
  }

  async topDirs(kind: 'appliance' | 'assembly'): Promise<string[]> {
    const base = kind === 'appliance' ? 'appliances' : 'assemblies';
    let entries;
    try {
      entries = await readdir(join(this.dir, base), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => `${base}/${e.name}`)
      .sort();
  }

  async loadTopOrThrow(kind: 'appliance' | 'assembly', name: string): Promise<LoadedDocument> {
    const d = topDir(kind, name);
    if (!(await exists(join(this.dir, d, documentName(kind))))) throw notFound(kind, name, this.dir);
    return this.loadTree(kindsOf(kind), d);
  }

  /** Directories and kinds of the objects stored in a tree (documents only, no models). */
  async shape(kinds: readonly StoredKind[], dirRel: string, into: TreeShape = new Map()): Promise<TreeShape> {
    const seen = await this.current(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
    if (!seen) throw notFound('object', dirRel, this.dir);
    into.set(dirRel, seen.kind);
    await Promise.all(seen.refs.map((r) => this.shape([r.kind], `${dirRel}/${childDir(seen.kind, r.name)}`, into)));
    return into;
  }

  /** What the document says now: from the cache when the file has not changed since, else read. Undefined if absent. */
  async current(rel: string, kinds: readonly StoredKind[]): Promise<SeenDocument | undefined> {
    const file = join(this.dir, rel);
    // Synchronous like load(): a put checks every document of the object, and an async
    // stat per document is a thread-pool round trip each.
    let info;
    try {
      info = statSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    const seen = this.#seen.get(file);
    if (seen && seen.ino === info.ino && seen.size === info.size && seen.mtimeMs === info.mtimeMs && kinds.includes(seen.kind)) return seen;
    await this.load(rel, kinds);
    return this.#seen.get(file);
  }

  /** Walks `owner` (`top/member/...`) to its directory and kind. */
  async resolveOwner(owner: string): Promise<{ dirRel: string; kind: StoredKind; doc: LoadedDocument }> {
    const [top, ...rest] = owner.split('/');
    if (!top) throw notFound('object', owner, this.dir);
    let dirRel: string;
    let kinds: StoredKind[];
    if (await exists(join(this.dir, topDir('appliance', top), documentName('appliance')))) {
      dirRel = topDir('appliance', top);
      kinds = ['appliance'];
    } else if (await exists(join(this.dir, topDir('assembly', top), documentName('assembly')))) {
      dirRel = topDir('assembly', top);
      kinds = ['assembly', 'atomicAssembly'];
    } else throw notFound('appliance or assembly', top, this.dir);
    let doc = await this.load(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
    for (const seg of rest) {
      const ref = memberRefs(doc).find((r) => r.name === seg);
      if (!ref) throw notFound('member', seg, doc.file);
      dirRel = `${dirRel}/${childDir(doc.kind, seg)}`;
      doc = await this.load(`${dirRel}/${documentName(ref.kind)}`, [ref.kind]);
    }
    return { dirRel, kind: doc.kind, doc };
  }

  async contentSlot(owner: string, resource: string): Promise<ContentSlot> {
    const { dirRel, doc } = await this.resolveOwner(owner);
    const r = (Array.isArray(doc.plain['contentResources']) ? (doc.plain['contentResources'] as Plain[]) : []).find((x) => x['name'] === resource);
    if (!r || typeof r['path'] !== 'string') {
      throw new UserError('CATALOG_NOT_FOUND', `"${owner}" has no content resource "${resource}"`, { where: doc.file, hint: 'declare the content resource in the metadata first' });
    }
    return { owner: owner.split('/').slice(1), dirRel, name: resource, path: r['path'] };
  }

  /** The appliance directory that holds `fileSet` (a sibling's file sets live with its primary). */
  async fileSetOwner(owner: string, fileSet: string): Promise<{ dirRel: string }> {
    let resolved = await this.resolveOwner(owner);
    const from = resolved.doc.plain['fileSetsFrom'];
    if (typeof from === 'string') {
      const parent = owner.split('/').slice(0, -1);
      resolved = await this.resolveOwner([...parent, from].join('/'));
    }
    if (resolved.kind !== 'appliance') throw new UserError('CATALOG_NOT_FOUND', `"${owner}" is not an appliance; file sets belong to appliances`, { where: resolved.doc.file });
    const defs = Array.isArray(resolved.doc.plain['fileSets']) ? (resolved.doc.plain['fileSets'] as Plain[]) : [];
    if (!defs.some((f) => f['name'] === fileSet)) {
      throw new UserError('CATALOG_NOT_FOUND', `appliance "${owner}" has no file set definition "${fileSet}"`, { where: resolved.doc.file });
    }
    return { dirRel: resolved.dirRel };
  }

  /**
   * Top-level assemblies that contain (at any depth) an appliance or atomic assembly named
   * `name`, skipping the top-level directories in `skip`.
   */
  async findUsers(name: string, skip: ReadonlySet<string>): Promise<string[]> {
    const users: string[] = [];
    const uses = async (dirRel: string, kinds: StoredKind[]): Promise<boolean> => {
      const doc = await this.load(`${dirRel}/${documentName(kinds[0] ?? 'assembly')}`, kinds);
      if (doc.kind !== 'assembly') return false;
      for (const ref of memberRefs(doc)) {
        if (ref.name === name && ref.kind !== 'assembly') return true;
        if (ref.kind === 'assembly' && (await uses(`${dirRel}/${childDir('assembly', ref.name)}`, ['assembly']))) return true;
      }
      return false;
    };
    for (const d of await this.topDirs('assembly')) {
      if (skip.has(d)) continue;
      try {
        if (await uses(d, ['assembly', 'atomicAssembly'])) users.push(d.slice('assemblies/'.length));
      } catch (err) {
        // An unreadable assembly is reported by listings; it cannot be checked here.
        if (!isFileProblem(err)) throw err;
      }
    }
    return users;
  }

  /** Remembers a document a commit just put in place. */
  remember(w: WrittenDocument): void {
    const file = join(this.dir, w.rel);
    let info;
    try {
      info = statSync(file);
    } catch {
      return; // not remembered: the next put reads it again
    }
    this.#seen.set(file, { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, hash: sha(w.text), secrets: w.secrets, kind: w.kind, refs: w.refs });
  }

  /** Forgets every document under a deleted directory. */
  forget(dirRel: string): void {
    const prefix = `${join(this.dir, dirRel)}/`;
    for (const k of this.#seen.keys()) if (k.startsWith(prefix)) this.#seen.delete(k);
  }
}

/**
 * An appliance member converted as soon as it is read, so its plain tree dies young (less
 * GC, lower peak memory). A member whose model cannot be built (a UserError: invalid
 * metadata) stays plain, so the assembly's own conversion reports it where and as it
 * always does; anything else is a bug and propagates.
 */
function convertEarly(plain: Plain): AssemblyMember | undefined {
  try {
    return memberFromPlain(plain);
  } catch (err) {
    if (err instanceof UserError) return undefined;
    throw err;
  }
}

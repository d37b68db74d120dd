/**
 * The instance's catalog: appliances, atomic assemblies and assemblies as XML documents
 * (one per object, see format.ts), their content resources and captured file sets.
 *
 * Every change goes through commit(): it runs under the instance lock, stages new files
 * and swaps them in through a journal (txn.ts), so a failed or killed change leaves the
 * previous state. Unchanged documents are not rewritten: the new text is compared with
 * the file on disk (a cache of what this process last read or wrote avoids re-reading),
 * and unchanged password values keep their ciphertext so they do not churn in diffs.
 *
 * Reads take no lock. They check the commit generation before and after and, if they
 * raced a commit, read again under the lock.
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AbError, UserError } from '../core/errors.js';
import { Appliance, type AppliancePlain } from '../core/metadata/appliance.js';
import { Assembly, AtomicAssembly, memberFromPlain, type AssemblyMember, type AssemblyPlain, type AtomicAssemblyPlain } from '../core/metadata/assembly.js';
import { withInstanceLock } from '../services/instance-lock.js';
import {
  ARCHIVES_DOCUMENT,
  childDir,
  CONTENT_DIR,
  CURRENT_FORMAT_VERSION,
  dirName,
  documentName,
  FILESETS_DIR,
  isStoredKind,
  splitObject,
  topDir,
  upgradeDocument,
  type ContentSlot,
  type DocumentPart,
  type StoredKind,
} from './format.js';
import { SecretBox, SECRET_PREFIX } from './secrets.js';
import { eachLimit, exists, GENERATION_FILE, needsRecovery, recover, Transaction } from './txn.js';
import { parseDocument, renderDocument, type Plain } from './xml-codec.js';

export type CatalogObject = Appliance | AtomicAssembly | Assembly;
export type CatalogAssembly = Assembly | AtomicAssembly;

/** A file that could not be read; the rest of the catalog still is. */
export interface CatalogProblem {
  readonly file: string;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export interface Listing<T> {
  readonly items: T[];
  readonly problems: CatalogProblem[];
}

/** Bytes of one content resource. `owner` is `name` for a top-level object or `assembly/member/...`. */
export interface ContentWrite {
  readonly owner: string;
  readonly resource: string;
  readonly data: string | Uint8Array;
}

export type CatalogRef = { readonly appliance: string } | { readonly assembly: string };

export interface CatalogChanges {
  /** Objects to create or replace (their whole state; documents that did not change are left alone). */
  readonly put?: readonly CatalogObject[];
  readonly content?: readonly ContentWrite[];
  readonly delete?: readonly CatalogRef[];
  /**
   * The puts must be new objects: checked under the lock, so two processes creating the same
   * name cannot silently overwrite each other (introspection uses this).
   */
  readonly createOnly?: boolean;
}

export interface CommitReport {
  /** Files written (new or changed), relative to the catalog directory. */
  readonly written: readonly string[];
  /** Directories or files removed, relative to the catalog directory. */
  readonly deleted: readonly string[];
  /** Documents that were part of the change but already had that content. */
  readonly unchanged: number;
}

/** A captured file set as recorded in `filesets/archives.xml`. */
/** How a file set archive is compressed; decides its file name (`.tar.gz`, `.tar.zst`, `.tar`). */
export type ArchiveCodec = 'gzip' | 'zstd' | 'none';

const ARCHIVE_SUFFIX: Readonly<Record<ArchiveCodec, string>> = { gzip: '.tar.gz', zstd: '.tar.zst', none: '.tar' };

export interface FileSetArchive {
  readonly name: string;
  /** Absolute path of the archive. */
  readonly path: string;
  readonly codec: ArchiveCodec;
  readonly size: number;
  readonly sha256: string;
  readonly capturedAt: string;
}

export interface CatalogSummary {
  readonly appliances: { name: string; type: string; creator: string; properties: number; contentResources: number; fileSets: number }[];
  readonly assemblies: { name: string; kind: 'assembly' | 'atomicAssembly'; creator?: string; members: number }[];
  readonly problems: CatalogProblem[];
}

export interface CatalogOptions {
  /** Passed to withInstanceLock (tests shorten the stale time to recover from killed processes). */
  readonly lock?: { readonly waitMs?: number; readonly staleMs?: number };
}

/** What the catalog needs of the instance layout. */
export interface CatalogLocation {
  readonly root: string;
  readonly catalogDir: string;
  readonly configDir: string;
}

/** What this process last saw of a document: lets a put skip unchanged files without re-reading them. */
interface SeenDocument {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly hash: string;
  /** `id \0 clear` -> stored ciphertext, to re-use for unchanged passwords. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly kind: StoredKind;
  /** Stored children named by the document. */
  readonly refs: readonly { kind: StoredKind; name: string }[];
}

interface LoadedDocument {
  readonly kind: StoredKind;
  readonly plain: Plain;
  readonly file: string;
}

/** Existing stored objects of a tree: directory (relative) -> kind. */
type TreeShape = Map<string, StoredKind>;

// One-shot hashing: half the cost of createHash() for the thousands of small documents a read sees.
const sha = (text: string | Uint8Array) => hash('sha256', text, 'hex');

function problemOf(err: unknown, file: string): CatalogProblem {
  if (err instanceof AbError) return { file: err.where ?? file, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  const e = err as NodeJS.ErrnoException;
  return { file, code: e.code ?? 'CATALOG_READ_FAILED', message: e.message ?? String(err) };
}

/** Re-labels an error from the model with the file it was read from. */
function blameFile(err: unknown, file: string): unknown {
  if (err instanceof UserError && !(err.where ?? '').startsWith(file)) {
    return new UserError(err.code, err.message, { where: err.where ? `${file}: ${err.where}` : file, hint: err.hint, cause: err.cause });
  }
  return err;
}

function hasSecretValues(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasSecretValues);
  if (v === null || typeof v !== 'object') return false;
  const o = v as Plain;
  if (o['secret'] === true && typeof o['value'] === 'string') return true;
  return Object.values(o).some((x) => typeof x === 'object' && x !== null && hasSecretValues(x));
}

function kindOfObject(o: CatalogObject): StoredKind {
  return o instanceof Appliance ? 'appliance' : o instanceof AtomicAssembly ? 'atomicAssembly' : 'assembly';
}

function notFound(what: string, name: string, where: string): UserError {
  return new UserError('CATALOG_NOT_FOUND', `there is no ${what} "${name}" in the catalog`, { where, hint: 'see the catalog contents with describe' });
}

export class Catalog {
  readonly dir: string;
  readonly keyFile: string;
  readonly #instanceRoot: string;
  readonly #options: CatalogOptions;
  readonly #seen = new Map<string, SeenDocument>();
  #box: SecretBox | undefined;

  constructor(location: CatalogLocation, options: CatalogOptions = {}) {
    this.dir = location.catalogDir;
    this.keyFile = join(location.configDir, 'catalog.key');
    this.#instanceRoot = location.root;
    this.#options = options;
  }

  // ================================================================== public reads

  async listAppliances(): Promise<Listing<Appliance>> {
    return this.#read(() => this.#listTop('appliance', (p) => Appliance.fromPlain(p)));
  }

  async listAssemblies(): Promise<Listing<CatalogAssembly>> {
    return this.#read(() =>
      this.#listTop('assembly', (p) => (p['kind'] === 'atomicAssembly' ? AtomicAssembly.fromPlain(p) : Assembly.fromPlain(p))),
    );
  }

  async getAppliance(name: string): Promise<Appliance> {
    return this.#read(async () => {
      const p = await this.#loadTopOrThrow('appliance', name);
      return this.#model(p, () => Appliance.fromPlain(p.plain));
    });
  }

  async getAssembly(name: string): Promise<CatalogAssembly> {
    return this.#read(async () => {
      const d = topDir('assembly', name);
      if (!(await exists(join(this.dir, d, documentName('assembly'))))) throw notFound('assembly', name, this.dir);
      // Fast path: an assembly's appliance members are converted as soon as each is read, so
      // their plain trees die young (less GC, lower peak memory). Any failure takes the
      // plain path below, which reports exactly what it always did, in the same order.
      try {
        const prebuilt: AssemblyMember[] = [];
        const p = await this.#loadTree(['assembly', 'atomicAssembly'], d, prebuilt);
        if (p.kind === 'assembly') return Assembly.fromPlainWith(p.plain, (list) => list.map((m, i) => prebuilt[i] ?? memberFromPlain(m)));
      } catch {
        // fall through
      }
      const p = await this.#loadTopOrThrow('assembly', name);
      return this.#model(p, () => (p.plain['kind'] === 'atomicAssembly' ? AtomicAssembly.fromPlain(p.plain) : Assembly.fromPlain(p.plain)));
    });
  }

  async hasAppliance(name: string): Promise<boolean> {
    return exists(join(this.dir, topDir('appliance', name), documentName('appliance')));
  }

  async hasAssembly(name: string): Promise<boolean> {
    return exists(join(this.dir, topDir('assembly', name), documentName('assembly')));
  }

  /** Top-level assemblies that contain (at any depth) an appliance or atomic assembly named `name`. */
  async findUsers(name: string): Promise<string[]> {
    return this.#read(() => this.#findUsers(name, new Set()));
  }

  /** Bytes of a content resource; `owner` is `name` or `assembly/member/...`. */
  async readContent(owner: string, resource: string): Promise<Buffer> {
    return readFile(await this.contentPath(owner, resource));
  }

  /** Absolute path of a content resource's file (it may not exist yet). */
  async contentPath(owner: string, resource: string): Promise<string> {
    return this.#read(async () => {
      const slot = await this.#contentSlot(owner, resource);
      return join(this.dir, slot.dirRel, CONTENT_DIR, slot.path);
    });
  }

  /**
   * Where the archive of `fileSet` lives: in the owning appliance's dir (siblings use their
   * primary's); the recorded file when it was captured, else where a gzip capture would go.
   */
  async fileSetArchivePath(owner: string, fileSet: string): Promise<string> {
    return this.#read(async () => {
      const { dirRel } = await this.#fileSetOwner(owner, fileSet);
      const recorded = (await this.#readArchives(dirRel)).find((a) => a.name === fileSet);
      return recorded?.path ?? join(this.dir, dirRel, FILESETS_DIR, `${dirName(fileSet)}${ARCHIVE_SUFFIX.gzip}`);
    });
  }

  async fileSetArchives(owner: string): Promise<FileSetArchive[]> {
    return this.#read(async () => {
      const { dirRel } = await this.#resolveOwner(owner);
      return this.#readArchives(dirRel);
    });
  }

  /** Re-hashes the archive and compares with the record. */
  async verifyFileSet(owner: string, fileSet: string): Promise<boolean> {
    const archives = await this.#read(async () => this.#readArchives((await this.#fileSetOwner(owner, fileSet)).dirRel));
    const rec = archives.find((a) => a.name === fileSet);
    if (!rec) return false;
    const actual = await hashFile(rec.path).catch(() => undefined);
    return actual !== undefined && actual.size === rec.size && actual.sha256 === rec.sha256;
  }

  /** A short overview from the documents (no model building): for `describe`-style commands. */
  async describe(): Promise<CatalogSummary> {
    return this.#read(async () => {
      const problems: CatalogProblem[] = [];
      const appliances: CatalogSummary['appliances'] = [];
      const assemblies: CatalogSummary['assemblies'] = [];
      const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
      for (const d of await this.#topDirs('appliance')) {
        try {
          const doc = await this.#loadDocument(`${d}/${documentName('appliance')}`, ['appliance']);
          const p = doc.plain;
          appliances.push({
            name: String(p['name']),
            type: String(p['type']),
            creator: String(p['creator']),
            properties: count(p['properties']),
            contentResources: count(p['contentResources']),
            fileSets: count(p['fileSets']),
          });
        } catch (err) {
          problems.push(problemOf(err, join(this.dir, d)));
        }
      }
      for (const d of await this.#topDirs('assembly')) {
        try {
          const doc = await this.#loadDocument(`${d}/${documentName('assembly')}`, ['assembly', 'atomicAssembly']);
          const p = doc.plain;
          const kind = doc.kind === 'atomicAssembly' ? 'atomicAssembly' : 'assembly';
          assemblies.push({
            name: String(p['name']),
            kind,
            ...(kind === 'atomicAssembly' ? { creator: String(p['creator']) } : {}),
            members: count(p[kind === 'atomicAssembly' ? 'appliances' : 'members']),
          });
        } catch (err) {
          problems.push(problemOf(err, join(this.dir, d)));
        }
      }
      return { appliances, assemblies, problems };
    });
  }

  /**
   * Appliances made by `plugin`: top-level ones by name, members of assemblies as
   * `assembly/member` paths. Unreadable files are skipped (they show up in listings).
   */
  async appliancesCreatedBy(plugin: string): Promise<string[]> {
    return this.#read(async () => {
      const out: string[] = [];
      const visit = async (kind: StoredKind, dirRel: string, path: string[]): Promise<void> => {
        const doc = await this.#loadDocument(`${dirRel}/${documentName(kind)}`, kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly']);
        const name = String(doc.plain['name']);
        const here = [...path, name];
        if (doc.kind === 'appliance') {
          if (doc.plain['creator'] === plugin) out.push(here.join('/'));
          return;
        }
        for (const ref of memberRefs(doc)) await visit(ref.kind, `${dirRel}/${childDir(doc.kind, ref.name)}`, here);
      };
      for (const kind of ['appliance', 'assembly'] as const) {
        for (const d of await this.#topDirs(kind)) await visit(kind, d, []).catch(() => undefined);
      }
      return out.sort();
    });
  }

  // ================================================================== public writes

  async putAppliance(appliance: Appliance, content: readonly Omit<ContentWrite, 'owner'>[] = []): Promise<CommitReport> {
    return this.commit({ put: [appliance], content: content.map((c) => ({ ...c, owner: appliance.name })) });
  }

  async putAssembly(assembly: CatalogAssembly, content: readonly ContentWrite[] = []): Promise<CommitReport> {
    return this.commit({ put: [assembly], content });
  }

  /** Refused while an assembly uses the appliance. */
  async deleteAppliance(name: string): Promise<CommitReport> {
    return this.commit({ delete: [{ appliance: name }] });
  }

  async deleteAssembly(name: string): Promise<CommitReport> {
    return this.commit({ delete: [{ assembly: name }] });
  }

  async writeContent(owner: string, resource: string, data: string | Uint8Array): Promise<CommitReport> {
    return this.commit({ content: [{ owner, resource, data }] });
  }

  /**
   * Moves a captured archive (e.g. from the instance tmp dir) into the catalog and records
   * its size and sha256 in the owner's `filesets/archives.xml`, in one commit.
   */
  async recordFileSet(owner: string, fileSet: string, archiveFile: string, options: { codec?: ArchiveCodec } = {}): Promise<FileSetArchive> {
    const codec = options.codec ?? 'gzip';
    return this.#locked(`record file set "${fileSet}"`, async () => {
      const { dirRel } = await this.#fileSetOwner(owner, fileSet);
      const { size, sha256 } = await hashFile(archiveFile);
      const file = `${dirName(fileSet)}${ARCHIVE_SUFFIX[codec]}`;
      const rel = `${dirRel}/${FILESETS_DIR}/${file}`;
      const record: FileSetArchive = { name: fileSet, path: join(this.dir, rel), codec, size, sha256, capturedAt: new Date().toISOString() };
      const existing = await this.#readArchives(dirRel);
      const previous = existing.find((a) => a.name === fileSet);
      const archives = [...existing.filter((a) => a.name !== fileSet), record].sort((a, b) => a.name.localeCompare(b.name));
      const docRel = `${dirRel}/${FILESETS_DIR}/${ARCHIVES_DOCUMENT}`;
      const text = renderDocument(
        'fileSetArchives',
        {
          archives: archives.map((a) => ({
            name: a.name,
            file: basename(a.path),
            codec: a.codec,
            size: a.size,
            sha256: a.sha256,
            capturedAt: a.capturedAt,
          })),
        },
        { where: join(this.dir, docRel), rootAttributes: { formatVersion: CURRENT_FORMAT_VERSION } },
      );
      const txn = new Transaction(this.dir);
      // A capture with another codec leaves a differently named file: the old one goes in the same commit.
      if (previous && previous.path !== record.path) txn.delete(`${dirRel}/${FILESETS_DIR}/${basename(previous.path)}`);
      txn.replace(rel);
      txn.moveIn(rel, archiveFile);
      txn.replace(docRel);
      txn.putFile(docRel, text);
      await txn.commit();
      return record;
    });
  }

  /**
   * Applies puts, content writes and deletes as one change: either all of it is in the
   * catalog afterwards or (on an error, or a crash before the commit point) none of it.
   */
  async commit(changes: CatalogChanges): Promise<CommitReport> {
    return this.#locked('change the catalog', () => this.#commit(changes));
  }

  /** Printable plain form: password values masked. Use this (never toPlain()) for output and logs. */
  redacted(object: CatalogObject): AppliancePlain | AtomicAssemblyPlain | AssemblyPlain {
    return redacted(object);
  }

  // ================================================================== locking and consistency

  async #locked<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInstanceLock(
      this.#instanceRoot,
      what,
      async () => {
        await recover(this.dir);
        return fn();
      },
      this.#options.lock ?? {},
    );
  }

  async #generation(): Promise<string> {
    return readFile(join(this.dir, GENERATION_FILE), 'utf8').catch(() => '0');
  }

  /** Lock-free read, redone under the lock if a commit was in flight or ran meanwhile. */
  async #read<T>(fn: () => Promise<T>): Promise<T> {
    if (!(await needsRecovery(this.dir))) {
      const before = await this.#generation();
      let result: T | undefined;
      let failure: unknown;
      let ok = false;
      try {
        result = await fn();
        ok = true;
      } catch (err) {
        failure = err;
      }
      if (before === (await this.#generation()) && !(await needsRecovery(this.dir))) {
        if (ok) return result as T;
        throw failure;
      }
    }
    return this.#locked('read the catalog', fn);
  }

  // ================================================================== documents

  async #keyBox(create: boolean, where: string): Promise<SecretBox> {
    if (this.#box) return this.#box;
    const box = await SecretBox.load(this.keyFile, create);
    if (!box) {
      throw new UserError('CATALOG_KEY_MISSING', 'this file holds encrypted passwords but the catalog key file is missing', {
        where,
        hint: `restore ${this.keyFile} from a backup, or set the passwords again`,
      });
    }
    this.#box = box;
    return box;
  }

  /** Reads, parses, decrypts and upgrades one document; remembers what it saw. */
  async #loadDocument(rel: string, kinds: readonly StoredKind[]): Promise<LoadedDocument> {
    const file = join(this.dir, rel);
    // Synchronous on purpose: documents are small local files, and each async fs call is a
    // thread-pool round trip; for 2,000 documents that was ~4x the whole read (see docs/catalog.md).
    const fd = openSync(file, 'r');
    let text: string;
    let info;
    try {
      info = fstatSync(fd);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const box = text.includes(SECRET_PREFIX) ? await this.#keyBox(false, file) : undefined;
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
    this.#seen.set(file, { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, hash: sha(text), secrets, kind: loaded.kind, refs: memberRefs(loaded) });
    return loaded;
  }

  /** Loads a stored object and everything stored beneath it, back into one plain form with `kind`. */
  /** `prebuilt` (top level only): appliance members of an assembly are converted into it by position, and their slot in the plain list is left null. */
  async #loadTree(kinds: readonly StoredKind[], dirRel: string, prebuilt?: AssemblyMember[]): Promise<LoadedDocument> {
    const doc = await this.#loadDocument(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
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
        const child = await this.#loadTree([ref.kind], `${dirRel}/${childDir(doc.kind, ref.name)}`);
        if (child.plain['name'] !== ref.name) {
          throw new UserError('CATALOG_FILE_INVALID', `member "${ref.name}" is stored under a file naming it "${String(child.plain['name'])}"`, { where: child.file });
        }
        if (prebuilt && doc.kind === 'assembly' && child.kind === 'appliance') {
          prebuilt[members.length] = memberFromPlain(child.plain);
          members.push(null);
        } else members.push(child.plain);
      }
      plain[key] = members;
    }
    return { kind: doc.kind, plain, file: doc.file };
  }

  #model<T>(loaded: LoadedDocument, build: () => T): T {
    try {
      return build();
    } catch (err) {
      throw blameFile(err, loaded.file);
    }
  }

  async #topDirs(kind: 'appliance' | 'assembly'): Promise<string[]> {
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

  async #listTop<T>(kind: 'appliance' | 'assembly', build: (p: Plain) => T): Promise<Listing<T>> {
    const dirs = await this.#topDirs(kind);
    const kinds: StoredKind[] = kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly'];
    const items: (T | undefined)[] = new Array(dirs.length);
    const problems: CatalogProblem[] = [];
    await eachLimit(
      dirs.map((d, i) => [d, i] as const),
      32,
      async ([d, i]) => {
        try {
          const loaded = await this.#loadTree(kinds, d);
          const name = String(loaded.plain['name']);
          if (`${d.split('/')[0]}/${dirName(name)}` !== d) {
            throw new UserError('CATALOG_FILE_INVALID', `the file names the object "${name}" but its directory is ${d}`, {
              where: loaded.file,
              hint: `rename the directory to ${dirName(name)} or fix the name in the file`,
            });
          }
          items[i] = this.#model(loaded, () => build(loaded.plain));
        } catch (err) {
          problems.push(problemOf(err, join(this.dir, d)));
        }
      },
    );
    problems.sort((a, b) => a.file.localeCompare(b.file));
    return { items: items.filter((x): x is T => x !== undefined), problems };
  }

  async #loadTopOrThrow(kind: 'appliance' | 'assembly', name: string): Promise<LoadedDocument> {
    const d = topDir(kind, name);
    if (!(await exists(join(this.dir, d, documentName(kind))))) throw notFound(kind, name, this.dir);
    return this.#loadTree(kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly'], d);
  }

  /** Directories and kinds of the objects stored in a tree (documents only, no models). */
  async #shape(kinds: readonly StoredKind[], dirRel: string, into: TreeShape = new Map()): Promise<TreeShape> {
    const seen = await this.#current(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
    if (!seen) throw notFound('object', dirRel, this.dir);
    into.set(dirRel, seen.kind);
    await Promise.all(seen.refs.map((r) => this.#shape([r.kind], `${dirRel}/${childDir(seen.kind, r.name)}`, into)));
    return into;
  }

  /** What the document says now: from the cache when the file has not changed since, else read. Undefined if absent. */
  async #current(rel: string, kinds: readonly StoredKind[]): Promise<SeenDocument | undefined> {
    const file = join(this.dir, rel);
    // Synchronous like #loadDocument: a put checks every document of the object, and an async
    // stat per document is a thread-pool round trip each.
    let info;
    try {
      info = statSync(file);
    } catch {
      return undefined;
    }
    const seen = this.#seen.get(file);
    if (seen && seen.ino === info.ino && seen.size === info.size && seen.mtimeMs === info.mtimeMs && kinds.includes(seen.kind)) return seen;
    await this.#loadDocument(rel, kinds);
    return this.#seen.get(file);
  }

  /** Walks `owner` (`top/member/...`) to its directory and kind. */
  async #resolveOwner(owner: string): Promise<{ dirRel: string; kind: StoredKind; doc: LoadedDocument }> {
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
    let doc = await this.#loadDocument(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
    for (const seg of rest) {
      const ref = memberRefs(doc).find((r) => r.name === seg);
      if (!ref) throw notFound('member', seg, doc.file);
      dirRel = `${dirRel}/${childDir(doc.kind, seg)}`;
      doc = await this.#loadDocument(`${dirRel}/${documentName(ref.kind)}`, [ref.kind]);
    }
    return { dirRel, kind: doc.kind, doc };
  }

  async #contentSlot(owner: string, resource: string): Promise<ContentSlot> {
    const { dirRel, doc } = await this.#resolveOwner(owner);
    const r = (Array.isArray(doc.plain['contentResources']) ? (doc.plain['contentResources'] as Plain[]) : []).find((x) => x['name'] === resource);
    if (!r || typeof r['path'] !== 'string') {
      throw new UserError('CATALOG_NOT_FOUND', `"${owner}" has no content resource "${resource}"`, { where: doc.file, hint: 'declare the content resource in the metadata first' });
    }
    return { owner: owner.split('/').slice(1), dirRel, name: resource, path: r['path'] };
  }

  /** The appliance directory that holds `fileSet` (a sibling's file sets live with its primary). */
  async #fileSetOwner(owner: string, fileSet: string): Promise<{ dirRel: string }> {
    let resolved = await this.#resolveOwner(owner);
    const from = resolved.doc.plain['fileSetsFrom'];
    if (typeof from === 'string') {
      const parent = owner.split('/').slice(0, -1);
      resolved = await this.#resolveOwner([...parent, from].join('/'));
    }
    if (resolved.kind !== 'appliance') throw new UserError('CATALOG_NOT_FOUND', `"${owner}" is not an appliance; file sets belong to appliances`, { where: resolved.doc.file });
    const defs = Array.isArray(resolved.doc.plain['fileSets']) ? (resolved.doc.plain['fileSets'] as Plain[]) : [];
    if (!defs.some((f) => f['name'] === fileSet)) {
      throw new UserError('CATALOG_NOT_FOUND', `appliance "${owner}" has no file set definition "${fileSet}"`, { where: resolved.doc.file });
    }
    return { dirRel: resolved.dirRel };
  }

  async #readArchives(dirRel: string): Promise<FileSetArchive[]> {
    const file = join(this.dir, dirRel, FILESETS_DIR, ARCHIVES_DOCUMENT);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const doc = upgradeDocument(parseDocument(text, { where: file, rootOnly: ['formatVersion'] }), file);
    const list = Array.isArray(doc.plain['archives']) ? (doc.plain['archives'] as Plain[]) : [];
    return list.map((a) => ({
      name: String(a['name']),
      path: join(this.dir, dirRel, FILESETS_DIR, String(a['file']).replace(/\//g, '')),
      // Records written before the codec was stored are gzip: that was the only archive name then.
      codec: a['codec'] === 'zstd' || a['codec'] === 'none' ? a['codec'] : 'gzip',
      size: Number(a['size']),
      sha256: String(a['sha256']),
      capturedAt: String(a['capturedAt']),
    }));
  }

  async #findUsers(name: string, skip: ReadonlySet<string>): Promise<string[]> {
    const users: string[] = [];
    const uses = async (dirRel: string, kinds: StoredKind[]): Promise<boolean> => {
      const doc = await this.#loadDocument(`${dirRel}/${documentName(kinds[0] ?? 'assembly')}`, kinds);
      if (doc.kind !== 'assembly') return false;
      for (const ref of memberRefs(doc)) {
        if (ref.name === name && ref.kind !== 'assembly') return true;
        if (ref.kind === 'assembly' && (await uses(`${dirRel}/${childDir('assembly', ref.name)}`, ['assembly']))) return true;
      }
      return false;
    };
    for (const d of await this.#topDirs('assembly')) {
      if (skip.has(d)) continue;
      try {
        if (await uses(d, ['assembly', 'atomicAssembly'])) users.push(d.slice('assemblies/'.length));
      } catch {
        // An unreadable assembly is reported by listings; it cannot be checked here.
      }
    }
    return users;
  }

  // ================================================================== commit

  async #commit(changes: CatalogChanges): Promise<CommitReport> {
    const txn = new Transaction(this.dir);
    try {
      return await this.#stageAndCommit(changes, txn);
    } catch (err) {
      // Staged writes start before the commit; a change that fails before committing leaves none.
      await txn.abort();
      throw err;
    }
  }

  async #stageAndCommit(changes: CatalogChanges, txn: Transaction): Promise<CommitReport> {
    const puts = changes.put ?? [];
    const deletes = changes.delete ?? [];
    const written: { rel: string; text: string; secrets: Map<string, string>; kind: StoredKind; refs: { kind: StoredKind; name: string }[] }[] = [];
    let unchanged = 0;

    // --- checks: names, duplicates, objects in use
    const putDirs = new Set<string>();
    for (const o of puts) {
      const kind = kindOfObject(o);
      const d = topDir(kind, o.name);
      if (putDirs.has(d)) throw new UserError('CATALOG_DUPLICATE', `"${o.name}" is put twice in one change`, { where: this.dir });
      putDirs.add(d);
      if (changes.createOnly && (await exists(join(this.dir, d)))) {
        throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an ${kind === 'appliance' ? 'appliance' : 'assembly'} named "${o.name}"`, {
          where: join(this.dir, d),
          hint: 'choose another name, or delete the existing one first',
        });
      }
      const otherKind = kind === 'appliance' ? 'assembly' : 'appliance';
      const other = topDir(otherKind, o.name);
      const otherDeleted = deletes.some((r) => ('appliance' in r ? topDir('appliance', r.appliance) : topDir('assembly', r.assembly)) === other);
      if (!otherDeleted && (await exists(join(this.dir, other)))) {
        throw new UserError('NAME_DUPLICATE', `the catalog already has an ${otherKind} named "${o.name}"; appliances and assemblies share one namespace`, {
          where: join(this.dir, other),
          hint: 'choose another name',
        });
      }
    }
    const deleteDirs = new Set<string>();
    for (const r of deletes) {
      const [kind, name] = 'appliance' in r ? (['appliance', r.appliance] as const) : (['assembly', r.assembly] as const);
      const d = topDir(kind, name);
      if (!(await exists(join(this.dir, d)))) throw notFound(kind, name, this.dir);
      if (putDirs.has(d)) throw new UserError('CATALOG_DUPLICATE', `"${name}" is both put and deleted in one change`, { where: this.dir });
      deleteDirs.add(d);
    }
    for (const r of deletes) {
      const name = 'appliance' in r ? r.appliance : r.assembly;
      const skip = new Set([...deleteDirs, ...putDirs]);
      const users = [...(await this.#findUsers(name, skip)), ...puts.filter((o) => o instanceof Assembly && assemblyUses(o, name)).map((o) => o.name)];
      if (users.length) {
        throw new UserError('CATALOG_IN_USE', `"${name}" cannot be deleted: assembly ${users.map((u) => `"${u}"`).join(', ')} uses it`, {
          where: join(this.dir, 'appliance' in r ? topDir('appliance', name) : topDir('assembly', name)),
          hint: 'remove it from those assemblies first',
        });
      }
    }

    // --- documents and content of the objects put
    const contentByOwner = new Map<string, ContentWrite[]>();
    for (const c of changes.content ?? []) {
      const top = c.owner.split('/')[0] ?? '';
      const list = contentByOwner.get(top) ?? [];
      list.push(c);
      contentByOwner.set(top, list);
    }
    const stagedDirs = new Set<string>();
    const isUnderStaged = (rel: string) => {
      for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) if (stagedDirs.has(rel.slice(0, i))) return true;
      return false;
    };
    for (const o of puts) {
      const kind = kindOfObject(o);
      const dirRel = topDir(kind, o.name);
      const plain = o.toPlain() as unknown as Plain;
      const { docs, content } = splitObject(kind, plain, dirRel);
      if (hasSecretValues(plain)) await this.#keyBox(true, this.keyFile);
      let old: TreeShape = new Map();
      if (await exists(join(this.dir, dirRel))) {
        try {
          old = await this.#shape(kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly'], dirRel);
        } catch {
          old = new Map(); // unreadable before: replace it whole
        }
        if (old.get(dirRel) !== kind) old = new Map();
      }
      const newDirs = new Map(docs.map((d) => [d.rel.slice(0, d.rel.lastIndexOf('/')), d.kind] as const));
      // Removed members: drop their directories (only the outermost one; a kind change is a replace below).
      for (const d of old.keys()) {
        if (d === dirRel || newDirs.has(d)) continue;
        const parentObject = d.split('/').slice(0, -2).join('/');
        if (newDirs.get(parentObject) === old.get(parentObject)) txn.delete(d);
      }
      if (old.size === 0) {
        stagedDirs.add(dirRel);
        txn.replace(dirRel);
      }
      // New members (or ones whose kind changed) get their whole directory staged.
      for (const doc of docs) {
        const d = doc.rel.slice(0, doc.rel.lastIndexOf('/'));
        if (!isUnderStaged(doc.rel) && old.get(d) !== doc.kind) {
          stagedDirs.add(d);
          txn.replace(d);
        }
      }
      // Rendered in order; each changed document's staged write starts at once (putFile), so
      // the file system creates files while the next documents are rendered.
      for (const [i, doc] of docs.entries()) {
        // Let finished writes call back and queued ones start.
        if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
        const r = await this.#renderForWrite(doc, isUnderStaged(doc.rel));
        if (r.unchanged) {
          unchanged += 1;
          continue;
        }
        if (!isUnderStaged(doc.rel)) txn.replace(doc.rel);
        txn.putFile(doc.rel, r.text);
        written.push({ rel: doc.rel, text: r.text, secrets: r.secrets, kind: doc.kind, refs: memberRefs({ kind: doc.kind, plain: doc.plain, file: '' }) });
      }
      for (const c of contentByOwner.get(o.name) ?? []) {
        const ownerPath = c.owner.split('/').slice(1);
        const slot = content.find((s) => s.name === c.resource && s.owner.join('/') === ownerPath.join('/'));
        if (!slot) {
          throw new UserError('CATALOG_NOT_FOUND', `"${c.owner}" has no content resource "${c.resource}"`, { where: dirRel, hint: 'declare the content resource in the metadata first' });
        }
        this.#stageContent(txn, slot, c.data, isUnderStaged);
      }
      contentByOwner.delete(o.name);
    }
    // --- content for objects already in the catalog
    for (const list of contentByOwner.values()) {
      for (const c of list) this.#stageContent(txn, await this.#contentSlot(c.owner, c.resource), c.data, isUnderStaged);
    }
    for (const d of deleteDirs) txn.delete(d);

    await txn.commit();
    for (const d of deleteDirs) this.#forget(d);
    for (const w of written) this.#remember(w);
    return { written: txn.written, deleted: txn.ops.filter((o) => o.type === 'delete').map((o) => o.target), unchanged };
  }

  #stageContent(txn: Transaction, slot: ContentSlot, data: string | Uint8Array, isUnderStaged: (rel: string) => boolean): void {
    const rel = `${slot.dirRel}/${CONTENT_DIR}/${slot.path}`;
    if (!isUnderStaged(rel)) txn.replace(rel);
    txn.putFile(rel, data);
  }

  /** Renders a document for writing, re-using stored ciphertext; tells whether the file already says this. */
  async #renderForWrite(doc: DocumentPart, isNew: boolean): Promise<{ text: string; unchanged: boolean; secrets: Map<string, string> }> {
    const file = join(this.dir, doc.rel);
    // An unreadable old file is simply replaced.
    const seen = isNew ? undefined : await this.#current(doc.rel, [doc.kind]).catch(() => undefined);
    const secrets = new Map<string, string>();
    const text = renderDocument(doc.kind, doc.plain, {
      where: file,
      rootAttributes: { formatVersion: CURRENT_FORMAT_VERSION },
      secret: (clear, id) => {
        const key = `${id}\0${clear}`;
        const stored = seen?.secrets.get(key) ?? this.#requireBox(file).encrypt(clear);
        secrets.set(key, stored);
        return stored;
      },
    });
    return { text, unchanged: seen !== undefined && seen.hash === sha(text), secrets };
  }

  #requireBox(where: string): SecretBox {
    if (!this.#box) throw new Error(`internal error: catalog key not loaded before writing ${where}`);
    return this.#box;
  }

  #remember(w: { rel: string; text: string; secrets: Map<string, string>; kind: StoredKind; refs: { kind: StoredKind; name: string }[] }): void {
    const { rel, text, secrets } = w;
    const file = join(this.dir, rel);
    let info;
    try {
      info = statSync(file);
    } catch {
      info = undefined;
    }
    if (info) this.#seen.set(file, { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, hash: sha(text), secrets, kind: w.kind, refs: w.refs });
  }

  #forget(dirRel: string): void {
    const prefix = `${join(this.dir, dirRel)}/`;
    for (const k of this.#seen.keys()) if (k.startsWith(prefix)) this.#seen.delete(k);
  }
}

// ================================================================== helpers

function boxlessClear(file: string): never {
  throw new UserError('CATALOG_SECRET_INVALID', 'a password value is not encrypted (expected enc:v1:...)', {
    where: file,
    hint: 'set the password again with abctl instead of editing the file',
  });
}

function asRef(parent: StoredKind, m: Plain): { kind: StoredKind; name: string } | undefined {
  const kind = parent === 'atomicAssembly' ? 'appliance' : m['kind'];
  const name = m['name'];
  return isStoredKind(kind) && typeof name === 'string' ? { kind, name } : undefined;
}

function memberRefs(doc: LoadedDocument): { kind: StoredKind; name: string }[] {
  if (doc.kind === 'appliance') return [];
  const list = doc.plain[doc.kind === 'atomicAssembly' ? 'appliances' : 'members'];
  if (!Array.isArray(list)) return [];
  return list.map((m) => asRef(doc.kind, m as Plain)).filter((r): r is { kind: StoredKind; name: string } => r !== undefined);
}

function assemblyUses(a: Assembly, name: string): boolean {
  return a.members.some((m) => (m instanceof Assembly ? assemblyUses(m, name) : m.name === name && (m instanceof Appliance || m instanceof AtomicAssembly)));
}

async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Printable plain form of a catalog object: password values masked. */
export function redacted(object: CatalogObject): AppliancePlain | AtomicAssemblyPlain | AssemblyPlain {
  return object.toJSON();
}

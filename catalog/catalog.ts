/**
 * The instance's catalog: appliances, atomic assemblies and assemblies as XML documents
 * (one per object, see format.ts), their content resources and captured file sets.
 *
 * This class is the catalog's one entry point and keeps the rules of access: every change
 * runs under the instance lock (commit-planner.ts plans it, txn.ts makes it
 * all-or-nothing); reads take no lock, check the commit generation before and after and,
 * if they raced a commit, read again under the lock. Documents are read and remembered by
 * documents.ts, archives recorded by archives.ts and checked by verify.ts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { join } from 'node:path';
import { Appliance, type AppliancePlain } from '../core/metadata/appliance.js';
import { madeWith, readParticipants, type Participant } from '../core/metadata/participants.js';
import { Assembly, AtomicAssembly, memberFromPlain, type AssemblyMember, type AssemblyPlain, type AtomicAssemblyPlain } from '../core/metadata/assembly.js';
import { archiveFileName, readArchiveIndex, type ArchiveCodec, type ArchiveDigest, type FileSetArchive } from './archives.js';
import { checkArchive } from './archive-check.js';
import { commitChanges } from './commit-planner.js';
import { DocumentStore, kindsOf, memberRefs, type LoadedDocument } from './documents.js';
import { childDir, CONTENT_DIR, dirName, documentName, FILESETS_DIR, topDir, type StoredKind } from './format.js';
import { withInstanceLock } from './instance-lock.js';
import { CatalogKey } from './key.js';
import { blameFile, isFileProblem, notFound, problemOf } from './problems.js';
import { eachLimit, exists, GENERATION_FILE, needsRecovery, recover, Transaction } from './txn.js';
import type { CatalogAssembly, CatalogChanges, CatalogLocation, CatalogObject, CatalogOptions, CatalogProblem, CatalogSummary, CommitReport, ContentWrite, Listing, PluginUse, PluginUseReport } from './types.js';
import { archiveProblem, fileSetStatuses, storedAppliances, unrecordedFiles, type FileSetStatus } from './verify.js';
import type { Plain } from './xml-codec.js';

export type * from './types.js';
export type { ArchiveCodec, ArchiveDigest, FileSetArchive } from './archives.js';
export type { ArchiveState } from './archive-check.js';
export type { FileSetStatus } from './verify.js';
export { recaptureHint } from './verify.js';

/** What verifyCatalog found: how much it checked, and every problem. */
export interface CatalogVerification {
  readonly objects: number;
  readonly archives: number;
  readonly problems: CatalogProblem[];
}

export class Catalog {
  readonly dir: string;
  readonly keyFile: string;
  readonly #instanceRoot: string;
  readonly #options: CatalogOptions;
  readonly #key: CatalogKey;
  readonly #store: DocumentStore;

  constructor(location: CatalogLocation, options: CatalogOptions = {}) {
    this.dir = location.catalogDir;
    this.keyFile = join(location.configDir, 'catalog.key');
    this.#instanceRoot = location.root;
    this.#options = options;
    this.#key = new CatalogKey(this.keyFile);
    this.#store = new DocumentStore(this.dir, this.#key);
  }

  // ================================================================== public reads

  async listAppliances(): Promise<Listing<Appliance>> {
    return this.#read(() => this.#listTop('appliance', (p) => Appliance.fromPlain(p)));
  }

  async listAssemblies(): Promise<Listing<CatalogAssembly>> {
    return this.#read(() => this.#listTop('assembly', (p) => (p['kind'] === 'atomicAssembly' ? AtomicAssembly.fromPlain(p) : Assembly.fromPlain(p))));
  }

  async getAppliance(name: string): Promise<Appliance> {
    return this.#read(async () => {
      const p = await this.#store.loadTopOrThrow('appliance', name);
      return this.#model(p, () => Appliance.fromPlain(p.plain));
    });
  }

  async getAssembly(name: string): Promise<CatalogAssembly> {
    return this.#read(async () => {
      const d = topDir('assembly', name);
      if (!(await exists(join(this.dir, d, documentName('assembly'))))) throw notFound('assembly', name, this.dir);
      // Appliance members are converted as each is read (see DocumentStore.loadTree); the
      // rest, and any member that failed early, convert here at fromPlain's usual point.
      const prebuilt: AssemblyMember[] = [];
      const p = await this.#store.loadTree(kindsOf('assembly'), d, prebuilt);
      return this.#model(p, () =>
        p.kind === 'atomicAssembly' ? AtomicAssembly.fromPlain(p.plain) : Assembly.fromPlainWith(p.plain, (list) => list.map((m, i) => prebuilt[i] ?? memberFromPlain(m))),
      );
    });
  }

  // Through #read like every read: a commit that a killed process left past its commit point is
  // finished first, so its appliance is not reported missing.
  async hasAppliance(name: string): Promise<boolean> {
    return this.#read(() => exists(join(this.dir, topDir('appliance', name), documentName('appliance'))));
  }

  async hasAssembly(name: string): Promise<boolean> {
    return this.#read(() => exists(join(this.dir, topDir('assembly', name), documentName('assembly'))));
  }

  /** Top-level assemblies that contain (at any depth) an appliance or atomic assembly named `name`. */
  async findUsers(name: string): Promise<string[]> {
    return this.#read(() => this.#store.findUsers(name, new Set()));
  }

  /** Bytes of a content resource; `owner` is `name` or `assembly/member/...`. */
  async readContent(owner: string, resource: string): Promise<Buffer> {
    return readFile(await this.contentPath(owner, resource));
  }

  /** Absolute path of a content resource's file (it may not exist yet). */
  async contentPath(owner: string, resource: string): Promise<string> {
    return this.#read(async () => {
      const slot = await this.#store.contentSlot(owner, resource);
      return join(this.dir, slot.dirRel, CONTENT_DIR, slot.path);
    });
  }

  /**
   * Where the archive of `fileSet` lives: in the owning appliance's dir (siblings use their
   * primary's); the recorded file when it was captured, else where a gzip capture would go.
   */
  async fileSetArchivePath(owner: string, fileSet: string): Promise<string> {
    return this.#read(async () => {
      const { dirRel } = await this.#store.fileSetOwner(owner, fileSet);
      const recorded = readArchiveIndex(this.dir, dirRel).find((a) => a.name === fileSet);
      return recorded?.path ?? join(this.dir, dirRel, FILESETS_DIR, archiveFileName(fileSet, 'gzip'));
    });
  }

  async fileSetArchives(owner: string): Promise<FileSetArchive[]> {
    return this.#read(async () => readArchiveIndex(this.dir, (await this.#store.resolveOwner(owner)).dirRel));
  }

  /** Re-hashes the archive and compares with the record. */
  async verifyFileSet(owner: string, fileSet: string): Promise<boolean> {
    const rec = await this.#read(async () => readArchiveIndex(this.dir, (await this.#store.fileSetOwner(owner, fileSet)).dirRel).find((a) => a.name === fileSet));
    return (await checkArchive(rec)).state === 'captured';
  }

  /**
   * The state of every file set of the appliances stored under a top-level object (itself,
   * or the members of an assembly), checksums recomputed. Siblings are covered by their primary.
   */
  async fileSetStates(name: string): Promise<FileSetStatus[]> {
    const found = await this.#read(async () => {
      const kind = (await this.hasAppliance(name)) ? 'appliance' : 'assembly';
      const d = topDir(kind, name);
      if (!(await exists(join(this.dir, d)))) throw notFound('appliance or assembly', name, this.dir);
      return storedAppliances(this.#store, d, kindsOf(kind));
    });
    const out: FileSetStatus[] = [];
    for (const a of found) out.push(...(await fileSetStatuses(this.dir, a)));
    return out;
  }

  /** The missing or damaged archives of a top-level object (empty: all captured archives are usable). */
  async archiveProblems(name: string): Promise<CatalogProblem[]> {
    return (await this.fileSetStates(name)).map((s) => archiveProblem(s)).filter((p): p is CatalogProblem => p !== undefined);
  }

  /**
   * Checks the whole catalog: every document is read and its objects built, every archive
   * hashed against its record, and files no record names are listed. Lists every problem.
   */
  async verify(): Promise<CatalogVerification> {
    const [appliances, assemblies] = [await this.listAppliances(), await this.listAssemblies()];
    const problems: CatalogProblem[] = [...appliances.problems, ...assemblies.problems];
    let archives = 0;
    const tops = [...appliances.items.map((a) => ({ name: a.name, kind: 'appliance' as const })), ...assemblies.items.map((a) => ({ name: a.name, kind: 'assembly' as const }))];
    for (const top of tops) {
      try {
        const found = await this.#read(() => storedAppliances(this.#store, topDir(top.kind, top.name), kindsOf(top.kind)));
        for (const a of found) {
          problems.push(...(await unrecordedFiles(this.dir, a)));
          for (const s of await fileSetStatuses(this.dir, a)) {
            if (s.archive.state !== 'notCaptured') archives += 1;
            const p = archiveProblem(s);
            if (p) problems.push(p);
          }
        }
      } catch (err) {
        // An unreadable archive index (or a file changed since the listing) is one more problem, not the end of the check.
        if (!isFileProblem(err)) throw err;
        problems.push(problemOf(err, join(this.dir, topDir(top.kind, top.name))));
      }
    }
    return { objects: appliances.items.length + assemblies.items.length, archives, problems };
  }

  /** A short overview from the documents (no model building): for `describe`-style commands. */
  async describe(): Promise<CatalogSummary> {
    return this.#read(async () => {
      const problems: CatalogProblem[] = [];
      const appliances: CatalogSummary['appliances'] = [];
      const assemblies: CatalogSummary['assemblies'] = [];
      const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
      for (const d of await this.#store.topDirs('appliance')) {
        try {
          const p = (await this.#store.load(`${d}/${documentName('appliance')}`, ['appliance'])).plain;
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
      for (const d of await this.#store.topDirs('assembly')) {
        try {
          const doc = await this.#store.load(`${d}/${documentName('assembly')}`, kindsOf('assembly'));
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
   * Appliances made with any of `plugins`: as creator or as a recorded participant of the
   * dehydration (an appliance inside an atomic assembly also counts the assembly's record).
   * Top-level ones by name, members of assemblies as `assembly/member` paths. An unreadable
   * document is reported, never taken for "not in use": it may hold such an appliance.
   */
  async appliancesMadeWith(plugins: readonly string[], options: { lockHeld?: boolean } = {}): Promise<PluginUseReport> {
    return (options.lockHeld ? this.#readHoldingLock.bind(this) : this.#read.bind(this))(async () => {
      const wanted = new Set(plugins);
      const uses: PluginUse[] = [];
      const unreadable: CatalogProblem[] = [];
      const visit = async (kind: StoredKind, dirRel: string, path: string[], inherited: readonly Participant[]): Promise<void> => {
        const file = `${dirRel}/${documentName(kind)}`;
        let doc: LoadedDocument;
        let here: string[];
        let made: { creator: string; participants: readonly Participant[] };
        try {
          doc = await this.#store.load(file, kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly']);
          here = [...path, String(doc.plain['name'])];
          made = { creator: String(doc.plain['creator']), participants: readParticipants(doc.plain) ?? [] };
        } catch (err) {
          if (!isFileProblem(err)) throw err;
          unreadable.push(problemOf(blameFile(err, join(this.dir, file)), join(this.dir, file)));
          return;
        }
        if (doc.kind === 'appliance') {
          const participants = [...made.participants, ...inherited.filter((p) => !made.participants.some((q) => q.name === p.name))];
          for (const plugin of wanted) {
            if (!madeWith({ creator: made.creator, participants }, plugin)) continue;
            const version = participants.find((p) => p.name === plugin)?.version;
            uses.push({ appliance: here.join('/'), plugin, ...(version !== undefined ? { version } : {}) });
          }
          return;
        }
        const passDown = doc.kind === 'atomicAssembly' ? made.participants : [];
        for (const ref of memberRefs(doc)) await visit(ref.kind, `${dirRel}/${childDir(doc.kind, ref.name)}`, here, passDown);
      };
      for (const kind of ['appliance', 'assembly'] as const) {
        for (const d of await this.#store.topDirs(kind)) await visit(kind, d, [], []);
      }
      uses.sort((a, b) => (a.appliance < b.appliance ? -1 : a.appliance > b.appliance ? 1 : a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0));
      return { uses, unreadable };
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
   * its size, SHA-256 and time in the owner's `filesets/archives.xml`, in one commit.
   * `digest`: size and SHA-256 computed while the archive was written (the capture engine
   * does), so it is not read again; the size is still checked against the file.
   */
  async recordFileSet(owner: string, fileSet: string, archiveFile: string, options: { codec?: ArchiveCodec; digest?: ArchiveDigest } = {}): Promise<FileSetArchive> {
    const report = await this.commit({ captured: [{ owner, fileSet, file: archiveFile, codec: options.codec ?? 'gzip', ...(options.digest ? { digest: options.digest } : {}) }] });
    return report.captured[0] as FileSetArchive;
  }

  /**
   * Applies puts, content writes, archive copies and deletes as one change: either all of it
   * is in the catalog afterwards or (on an error, or a crash before the commit point) none of it.
   */
  async commit(changes: CatalogChanges): Promise<CommitReport> {
    return this.#locked('change the catalog', () => commitChanges({ dir: this.dir, store: this.#store, key: this.#key }, changes));
  }

  /**
   * Brings in a whole top-level assembly directory that was checked elsewhere (importAssembly
   * verified it as a catalog of its own): its files are moved in, so `fromDir` should be on the
   * catalog's file system (the instance tmp dir). Refused when the name is taken; one commit.
   */
  async adoptAssemblyDir(name: string, fromDir: string): Promise<CommitReport> {
    return this.#locked('import an assembly', async () => {
      for (const kind of ['appliance', 'assembly'] as const) {
        if (await exists(join(this.dir, topDir(kind, name)))) {
          throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an ${kind} named "${name}"`, { where: join(this.dir, topDir(kind, name)), hint: 'import under another name with --as NAME, or delete the existing one first' });
        }
      }
      const rel = topDir('assembly', name);
      const txn = new Transaction(this.dir);
      txn.replace(rel);
      const files = (await readdir(fromDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      for (const f of files) {
        const abs = join(f.parentPath, f.name);
        txn.moveIn(`${rel}/${abs.slice(fromDir.length + 1)}`, abs);
      }
      await txn.commit();
      return { written: files.map((f) => `${rel}/${join(f.parentPath, f.name).slice(fromDir.length + 1)}`), deleted: [], unchanged: 0, captured: [] };
    });
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

  /**
   * A read by a caller that already holds the instance lock (plugin installation): no commit
   * can run meanwhile, and taking the lock again would wait for ourselves until it times out.
   * A commit a killed process left behind is finished or dropped first, as under the lock.
   */
  async #readHoldingLock<T>(fn: () => Promise<T>): Promise<T> {
    if (await needsRecovery(this.dir)) await recover(this.dir);
    return fn();
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

  // ================================================================== listings

  #model<T>(loaded: LoadedDocument, build: () => T): T {
    try {
      return build();
    } catch (err) {
      throw blameFile(err, loaded.file);
    }
  }

  async #listTop<T>(kind: 'appliance' | 'assembly', build: (p: Plain) => T): Promise<Listing<T>> {
    const dirs = await this.#store.topDirs(kind);
    const items: (T | undefined)[] = new Array(dirs.length);
    const problems: CatalogProblem[] = [];
    await eachLimit(
      dirs.map((d, i) => [d, i] as const),
      32,
      async ([d, i]) => {
        try {
          const loaded = await this.#store.loadTree(kindsOf(kind), d);
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
}

/** Printable plain form of a catalog object: password values masked. */
export function redacted(object: CatalogObject): AppliancePlain | AtomicAssemblyPlain | AssemblyPlain {
  return object.toJSON();
}

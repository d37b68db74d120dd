/**
 * Turns a change (puts, content, deletes, archive copies) into one transaction: checks
 * names and users, renders each object's documents, stages only the files that change,
 * and commits. A change that fails before its commit point leaves nothing staged.
 */
import { basename, join } from 'node:path';
import { UserError } from '../core/errors.js';
import { Appliance } from '../core/metadata/appliance.js';
import { Assembly, AtomicAssembly } from '../core/metadata/assembly.js';
import { archiveFileName, digestOf, indexRel, readArchiveIndex, renderArchiveIndex, type FileSetArchive } from './archives.js';
import { childDir, CONTENT_DIR, CURRENT_FORMAT_VERSION, FILESETS_DIR, splitObject, topDir, type ContentSlot, type DocumentPart, type StoredKind } from './format.js';
import { kindsOf, memberRefs, sha, type DocumentStore, type TreeShape, type WrittenDocument } from './documents.js';
import type { CatalogKey } from './key.js';
import { notFound } from './problems.js';
import { exists, Transaction } from './txn.js';
import type { ArchiveCopy, ArchiveWrite, CatalogChanges, CatalogObject, CommitReport, ContentWrite } from './types.js';
import { renderDocument, type Plain } from './xml-codec.js';

export interface PlannerContext {
  readonly dir: string;
  readonly store: DocumentStore;
  readonly key: CatalogKey;
}

export function kindOfObject(o: CatalogObject): StoredKind {
  return o instanceof Appliance ? 'appliance' : o instanceof AtomicAssembly ? 'atomicAssembly' : 'assembly';
}

function hasSecretValues(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasSecretValues);
  if (v === null || typeof v !== 'object') return false;
  const o = v as Plain;
  if (o['secret'] === true && typeof o['value'] === 'string') return true;
  return Object.values(o).some((x) => typeof x === 'object' && x !== null && hasSecretValues(x));
}

function assemblyUses(a: Assembly, name: string): boolean {
  return a.members.some((m) => (m instanceof Assembly ? assemblyUses(m, name) : m.name === name && (m instanceof Appliance || m instanceof AtomicAssembly)));
}

function refDir(r: { appliance: string } | { assembly: string }): string {
  return 'appliance' in r ? topDir('appliance', r.appliance) : topDir('assembly', r.assembly);
}

/** Applies `changes` under the lock the caller holds. */
export async function commitChanges(ctx: PlannerContext, changes: CatalogChanges): Promise<CommitReport> {
  const txn = new Transaction(ctx.dir);
  try {
    const plan = await stage(ctx, changes, txn);
    await txn.commit();
    for (const d of plan.deleteDirs) ctx.store.forget(d);
    for (const w of plan.written) ctx.store.remember(w);
    return { written: txn.written, deleted: txn.ops.filter((o) => o.type === 'delete').map((o) => o.target), unchanged: plan.unchanged, captured: plan.captured };
  } catch (err) {
    // Staged writes start before the commit; a change that fails before committing leaves none.
    await txn.abort();
    throw err;
  }
}

/** Refuses changes that would break the catalog's rules: duplicates, taken names, objects in use. */
async function check(ctx: PlannerContext, changes: CatalogChanges): Promise<{ putDirs: Set<string>; deleteDirs: Set<string> }> {
  const puts = changes.put ?? [];
  const deletes = changes.delete ?? [];
  const putDirs = new Set<string>();
  for (const o of puts) {
    const kind = kindOfObject(o);
    const d = topDir(kind, o.name);
    if (putDirs.has(d)) throw new UserError('CATALOG_DUPLICATE', `"${o.name}" is put twice in one change`, { where: ctx.dir });
    putDirs.add(d);
    if (changes.createOnly && (await exists(join(ctx.dir, d)))) {
      throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an ${kind === 'appliance' ? 'appliance' : 'assembly'} named "${o.name}"`, {
        where: join(ctx.dir, d),
        hint: 'choose another name, or delete the existing one first',
      });
    }
    const otherKind = kind === 'appliance' ? 'assembly' : 'appliance';
    const other = topDir(otherKind, o.name);
    const otherDeleted = deletes.some((r) => refDir(r) === other);
    if (!otherDeleted && (await exists(join(ctx.dir, other)))) {
      throw new UserError('NAME_DUPLICATE', `the catalog already has an ${otherKind} named "${o.name}"; appliances and assemblies share one namespace`, {
        where: join(ctx.dir, other),
        hint: 'choose another name',
      });
    }
  }
  const deleteDirs = new Set<string>();
  for (const r of deletes) {
    const [kind, name] = 'appliance' in r ? (['appliance', r.appliance] as const) : (['assembly', r.assembly] as const);
    const d = topDir(kind, name);
    if (!(await exists(join(ctx.dir, d)))) throw notFound(kind, name, ctx.dir);
    if (putDirs.has(d)) throw new UserError('CATALOG_DUPLICATE', `"${name}" is both put and deleted in one change`, { where: ctx.dir });
    deleteDirs.add(d);
  }
  for (const r of deletes) {
    const name = 'appliance' in r ? r.appliance : r.assembly;
    const skip = new Set([...deleteDirs, ...putDirs]);
    const users = [...(await ctx.store.findUsers(name, skip)), ...puts.filter((o) => o instanceof Assembly && assemblyUses(o, name)).map((o) => o.name)];
    if (users.length) {
      throw new UserError('CATALOG_IN_USE', `"${name}" cannot be deleted: assembly ${users.map((u) => `"${u}"`).join(', ')} uses it`, {
        where: join(ctx.dir, refDir(r)),
        hint: 'remove it from those assemblies first',
      });
    }
  }
  return { putDirs, deleteDirs };
}

/** Which staged directories hold a path: a file under one needs no replace op of its own. */
class StagedDirs {
  readonly #dirs = new Set<string>();
  add(d: string): void {
    this.#dirs.add(d);
  }
  holds(rel: string): boolean {
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) if (this.#dirs.has(rel.slice(0, i))) return true;
    return false;
  }
}

async function stage(
  ctx: PlannerContext,
  changes: CatalogChanges,
  txn: Transaction,
): Promise<{ written: WrittenDocument[]; deleteDirs: Set<string>; unchanged: number; captured: FileSetArchive[] }> {
  const { deleteDirs } = await check(ctx, changes);
  const written: WrittenDocument[] = [];
  let unchanged = 0;
  const contentByOwner = new Map<string, ContentWrite[]>();
  for (const c of changes.content ?? []) {
    const top = c.owner.split('/')[0] ?? '';
    const list = contentByOwner.get(top) ?? [];
    list.push(c);
    contentByOwner.set(top, list);
  }
  const staged = new StagedDirs();
  for (const o of changes.put ?? []) {
    const kind = kindOfObject(o);
    const dirRel = topDir(kind, o.name);
    const plain = o.toPlain() as unknown as Plain;
    const { docs, content } = splitObject(kind, plain, dirRel);
    if (hasSecretValues(plain)) await ctx.key.load(true, ctx.key.file);
    const old = await oldShape(ctx, kind, dirRel);
    const newDirs = new Map(docs.map((d) => [d.rel.slice(0, d.rel.lastIndexOf('/')), d.kind] as const));
    // Removed members: drop their directories (only the outermost one; a kind change is a replace below).
    for (const d of old.keys()) {
      if (d === dirRel || newDirs.has(d)) continue;
      const parentObject = d.split('/').slice(0, -2).join('/');
      if (newDirs.get(parentObject) === old.get(parentObject)) txn.delete(d);
    }
    if (old.size === 0) {
      staged.add(dirRel);
      txn.replace(dirRel);
    }
    // New members (or ones whose kind changed) get their whole directory staged.
    for (const doc of docs) {
      const d = doc.rel.slice(0, doc.rel.lastIndexOf('/'));
      if (!staged.holds(doc.rel) && old.get(d) !== doc.kind) {
        staged.add(d);
        txn.replace(d);
      }
    }
    // Rendered in order; each changed document's staged write starts at once (putFile), so
    // the file system creates files while the next documents are rendered.
    for (const [i, doc] of docs.entries()) {
      // Let finished writes call back and queued ones start.
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
      const r = await renderForWrite(ctx, doc, staged.holds(doc.rel));
      if (r.unchanged) {
        unchanged += 1;
        continue;
      }
      if (!staged.holds(doc.rel)) txn.replace(doc.rel);
      txn.putFile(doc.rel, r.text);
      written.push({ rel: doc.rel, text: r.text, secrets: r.secrets, kind: doc.kind, refs: memberRefs(doc) });
    }
    for (const c of contentByOwner.get(o.name) ?? []) {
      const ownerPath = c.owner.split('/').slice(1);
      const slot = content.find((s) => s.name === c.resource && s.owner.join('/') === ownerPath.join('/'));
      if (!slot) {
        throw new UserError('CATALOG_NOT_FOUND', `"${c.owner}" has no content resource "${c.resource}"`, { where: dirRel, hint: 'declare the content resource in the metadata first' });
      }
      stageContent(txn, slot, c.data, staged);
    }
    contentByOwner.delete(o.name);
  }
  // Content for objects already in the catalog.
  for (const list of contentByOwner.values()) {
    for (const c of list) stageContent(txn, await ctx.store.contentSlot(c.owner, c.resource), c.data, staged);
  }
  for (const copy of changes.archives ?? []) await stageArchiveCopy(ctx, txn, copy, changes.put ?? [], staged);
  const captured = await stageCaptured(ctx, txn, changes.captured ?? [], changes.put ?? [], staged);
  for (const d of deleteDirs) txn.delete(d);
  return { written, deleteDirs, unchanged, captured };
}

/** The stored tree an object put replaces; empty when there is none, it is unreadable, or of another kind (replaced whole). */
async function oldShape(ctx: PlannerContext, kind: StoredKind, dirRel: string): Promise<TreeShape> {
  if (!(await exists(join(ctx.dir, dirRel)))) return new Map();
  let old: TreeShape;
  try {
    old = await ctx.store.shape(kind === 'appliance' ? ['appliance'] : ['assembly', 'atomicAssembly'], dirRel);
  } catch (err) {
    // A damaged file (a UserError naming it) is simply replaced by the put; anything else is not ours to hide.
    if (err instanceof UserError) return new Map();
    throw err;
  }
  return old.get(dirRel) === kind ? old : new Map();
}

function stageContent(txn: Transaction, slot: ContentSlot, data: string | Uint8Array, staged: StagedDirs): void {
  const rel = `${slot.dirRel}/${CONTENT_DIR}/${slot.path}`;
  if (!staged.holds(rel)) txn.replace(rel);
  txn.putFile(rel, data);
}

/** Renders a document for writing, re-using stored ciphertext; tells whether the file already says this. */
async function renderForWrite(ctx: PlannerContext, doc: DocumentPart, isNew: boolean): Promise<{ text: string; unchanged: boolean; secrets: Map<string, string> }> {
  const file = join(ctx.dir, doc.rel);
  // An unreadable old file (a UserError naming it) is simply replaced.
  const seen = isNew ? undefined : await ctx.store.current(doc.rel, [doc.kind]).catch((err: unknown) => {
    if (err instanceof UserError) return undefined;
    throw err;
  });
  const secrets = new Map<string, string>();
  const text = renderDocument(doc.kind, doc.plain, {
    where: file,
    rootAttributes: { formatVersion: CURRENT_FORMAT_VERSION },
    secret: (clear, id) => {
      const key = `${id}\0${clear}`;
      const stored = seen?.secrets.get(key) ?? ctx.key.loaded(file).encrypt(clear);
      secrets.set(key, stored);
      return stored;
    },
  });
  return { text, unchanged: seen !== undefined && seen.hash === sha(text), secrets };
}

/** The directory of member `path` (names) inside a put object. */
function memberDir(object: CatalogObject, path: readonly string[]): string {
  let kind = kindOfObject(object);
  let dir = topDir(kind, object.name);
  let here: CatalogObject = object;
  for (const name of path) {
    const next: unknown = here instanceof Assembly ? here.members.find((m) => m.name === name) : here instanceof AtomicAssembly ? here.appliances.find((a) => a.name === name) : undefined;
    if (!(next instanceof Appliance || next instanceof Assembly || next instanceof AtomicAssembly)) {
      throw new Error(`internal error: archive copy names "${path.join('/')}", which is not a stored member of "${object.name}"`);
    }
    dir = `${dir}/${childDir(kind, name)}`;
    here = next;
    kind = kindOfObject(next);
  }
  return dir;
}

/**
 * Links the archives of catalog object `copy.from` (and of its members) into its copy at
 * `copy.owner`, a member of an object put in the same change: the copy keeps the archives
 * as they were when it was made, as it keeps the metadata.
 */
async function stageArchiveCopy(ctx: PlannerContext, txn: Transaction, copy: ArchiveCopy, puts: readonly CatalogObject[], staged: StagedDirs): Promise<void> {
  const [top, ...path] = copy.owner.split('/');
  const target = puts.find((o) => o.name === top);
  if (!target || path.length === 0) throw new Error(`internal error: archive copy to "${copy.owner}" is not a member of an object put in the same change`);
  const toDir = memberDir(target, path);
  const fromKind = (await exists(join(ctx.dir, topDir('appliance', copy.from)))) ? 'appliance' : 'assembly';
  const fromDir = topDir(fromKind, copy.from);
  const shape = await ctx.store.shape(kindsOf(fromKind), fromDir);
  for (const [dir, kind] of shape) {
    if (kind !== 'appliance') continue;
    const records = readArchiveIndex(ctx.dir, dir);
    if (records.length === 0) continue;
    const into = toDir + dir.slice(fromDir.length);
    const files: [string, string][] = [[indexRel(dir), indexRel(into)], ...records.map((r): [string, string] => [r.path, `${into}/${r.path.slice(join(ctx.dir, dir).length + 1)}`])];
    for (const r of records) {
      if (!(await exists(r.path))) throw archiveGone(copy.from, r.name, r.path);
    }
    for (const [from, rel] of files) {
      if (!staged.holds(rel)) txn.replace(rel);
      txn.linkIn(rel, from.startsWith('/') ? from : join(ctx.dir, from));
    }
  }
}

/**
 * The directory holding `fileSet` of `owner` inside an object put in this change (not on disk
 * yet): the appliance itself, or an appliance of an atomic assembly; a sibling's file sets are
 * its primary's.
 */
function fileSetDirInPut(top: CatalogObject, owner: string, fileSet: string, where: string): string {
  const path = owner.split('/').slice(1);
  let appliance: Appliance | undefined;
  if (top instanceof Appliance && path.length === 0) appliance = top;
  else if (top instanceof AtomicAssembly && path.length === 1) {
    const find = (name: string): Appliance | undefined => top.appliances.find((a) => a.name === name);
    appliance = find(path[0] as string);
    if (appliance?.fileSetsFrom !== undefined) appliance = find(appliance.fileSetsFrom);
  }
  if (!appliance) throw notFound('appliance', owner, where);
  if (!appliance.getFileSet(fileSet)) throw new UserError('CATALOG_NOT_FOUND', `appliance "${owner}" has no file set definition "${fileSet}"`, { where });
  return appliance === top ? topDir('appliance', top.name) : memberDir(top, [appliance.name]);
}

/**
 * Moves new archives in and records them in their appliance's archive index, in the same
 * transaction as the rest of the change. A recapture with another codec leaves a differently
 * named file: the old one goes in the same commit.
 */
async function stageCaptured(ctx: PlannerContext, txn: Transaction, writes: readonly ArchiveWrite[], puts: readonly CatalogObject[], staged: StagedDirs): Promise<FileSetArchive[]> {
  const byDir = new Map<string, { record: FileSetArchive; rel: string; file: string }[]>();
  for (const w of writes) {
    const put = puts.find((o) => o.name === w.owner.split('/')[0]);
    const dirRel = put ? fileSetDirInPut(put, w.owner, w.fileSet, ctx.dir) : (await ctx.store.fileSetOwner(w.owner, w.fileSet)).dirRel;
    const list = byDir.get(dirRel) ?? [];
    if (list.some((x) => x.record.name === w.fileSet)) {
      throw new UserError('CATALOG_DUPLICATE', `file set "${w.fileSet}" of "${w.owner}" is stored twice in one change`, { where: ctx.dir });
    }
    const { size, sha256 } = await digestOf(w.file, w.digest);
    const rel = `${dirRel}/${FILESETS_DIR}/${archiveFileName(w.fileSet, w.codec)}`;
    list.push({ record: { name: w.fileSet, path: join(ctx.dir, rel), codec: w.codec, size, sha256, capturedAt: new Date().toISOString() }, rel, file: w.file });
    byDir.set(dirRel, list);
  }
  for (const [dirRel, list] of byDir) {
    const docRel = indexRel(dirRel);
    // A directory staged whole (a new object) starts without records, whatever an older one left on disk.
    const existing = staged.holds(docRel) ? [] : readArchiveIndex(ctx.dir, dirRel);
    const names = new Set(list.map((x) => x.record.name));
    for (const previous of existing.filter((a) => names.has(a.name))) {
      const rel = `${dirRel}/${FILESETS_DIR}/${basename(previous.path)}`;
      if (!list.some((x) => x.rel === rel)) txn.delete(rel);
    }
    for (const x of list) {
      if (!staged.holds(x.rel)) txn.replace(x.rel);
      txn.moveIn(x.rel, x.file);
    }
    if (!staged.holds(docRel)) txn.replace(docRel);
    txn.putFile(docRel, renderArchiveIndex([...existing.filter((a) => !names.has(a.name)), ...list.map((x) => x.record)], join(ctx.dir, docRel)));
  }
  return writes.map((w) => {
    for (const list of byDir.values()) {
      const hit = list.find((x) => x.file === w.file);
      if (hit) return hit.record;
    }
    throw new Error(`internal error: archive ${w.file} was not staged`);
  });
}

function archiveGone(from: string, fileSet: string, path: string): UserError {
  return new UserError('ARCHIVE_MISSING', `the archive of file set "${fileSet}" of "${from}" is missing, so the copy cannot take it along`, {
    where: path,
    hint: `capture it again with: abctl captureFileSets --appliance ${from}`,
  });
}

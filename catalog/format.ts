/**
 * How catalog objects map to files. Every stored object (appliance, atomic assembly,
 * assembly) gets a directory with one XML document holding its own fields; the objects
 * it contains get sub-directories of their own and appear in the parent document only as
 * references. That keeps each edit to one small file.
 *
 *   catalog/appliances/<name>/appliance.xml
 *   catalog/appliances/<name>/content/<content resource path>
 *   catalog/appliances/<name>/filesets/<file set>.tar.gz + filesets/archives.xml
 *   catalog/assemblies/<name>/assembly.xml            (root <assembly> or <atomicAssembly>)
 *   catalog/assemblies/<name>/appliances/<name>/...   (an atomic assembly's appliances)
 *   catalog/assemblies/<name>/members/<name>/...      (an assembly's stored members)
 */
import { UserError } from '../core/errors.js';
import type { ParsedDocument, Plain } from './xml-codec.js';

/** Format written by this abctl. Readers accept this and every earlier version. */
export const CURRENT_FORMAT_VERSION = 1;

/**
 * Upgrades from version v to v+1, indexed by v. Empty while only v1 exists; a v2 adds
 * `1: (doc) => ...` here and bumps CURRENT_FORMAT_VERSION, and old files keep loading.
 */
export const MIGRATIONS: Readonly<Record<number, (doc: ParsedDocument) => ParsedDocument>> = {};

export type StoredKind = 'appliance' | 'atomicAssembly' | 'assembly';
export const STORED_KINDS: readonly StoredKind[] = ['appliance', 'atomicAssembly', 'assembly'];

export function isStoredKind(k: unknown): k is StoredKind {
  return k === 'appliance' || k === 'atomicAssembly' || k === 'assembly';
}

export function documentName(kind: StoredKind): string {
  return kind === 'appliance' ? 'appliance.xml' : 'assembly.xml';
}

export const ARCHIVES_DOCUMENT = 'archives.xml';
export const FILESETS_DIR = 'filesets';
export const CONTENT_DIR = 'content';

/**
 * Object names become directory names. Names may be `.` or `..` or start with a dot
 * (which would clash with the catalog's `.staging-*` dirs), so a leading dot becomes
 * `%2E`; `%` itself becomes `%25` to keep the mapping one-to-one.
 */
export function dirName(name: string): string {
  const escaped = name.replace(/%/g, '%25').replace(/\//g, '%2F');
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : escaped;
}

/** Top-level directory (relative to the catalog root) of a top-level object. */
export function topDir(kind: StoredKind, name: string): string {
  return `${kind === 'appliance' ? 'appliances' : 'assemblies'}/${dirName(name)}`;
}

/** Directory of a stored child, relative to its parent's directory. */
export function childDir(parentKind: StoredKind, childName: string): string {
  return `${parentKind === 'atomicAssembly' ? 'appliances' : 'members'}/${dirName(childName)}`;
}

/** One XML document of an object tree, relative to the catalog root. */
export interface DocumentPart {
  readonly rel: string;
  readonly kind: StoredKind;
  readonly plain: Plain;
}

/** A content-resource file: `owner` is the member path inside the top object ([] = itself). */
export interface ContentSlot {
  readonly owner: readonly string[];
  readonly dirRel: string;
  readonly name: string;
  readonly path: string;
}

/** Splits a stored object's plain form into its documents and the content files it declares. */
export function splitObject(kind: StoredKind, plain: Plain, dirRel: string, owner: readonly string[] = []): { docs: DocumentPart[]; content: ContentSlot[] } {
  const docs: DocumentPart[] = [];
  const content: ContentSlot[] = [];
  const own: Plain = {};
  for (const [k, v] of Object.entries(plain)) {
    if (k === 'kind') continue;
    own[k] = v;
  }
  const listKey = kind === 'atomicAssembly' ? 'appliances' : kind === 'assembly' ? 'members' : undefined;
  if (listKey !== undefined && Array.isArray(plain[listKey])) {
    own[listKey] = (plain[listKey] as unknown[]).map((m) => {
      const member = m as Plain;
      const mKind = kind === 'atomicAssembly' ? 'appliance' : member['kind'];
      const name = member['name'];
      if (!isStoredKind(mKind) || typeof name !== 'string') return member;
      const sub = `${dirRel}/${childDir(kind, name)}`;
      const child = splitObject(mKind, member, sub, [...owner, name]);
      docs.push(...child.docs);
      content.push(...child.content);
      const ref: Plain = kind === 'assembly' ? { kind: mKind, name } : { name };
      ref['ab:file'] = `${childDir(kind, name)}/${documentName(mKind)}`;
      return ref;
    });
  }
  docs.unshift({ rel: `${dirRel}/${documentName(kind)}`, kind, plain: own });
  for (const r of Array.isArray(plain['contentResources']) ? (plain['contentResources'] as Plain[]) : []) {
    if (typeof r['name'] === 'string' && typeof r['path'] === 'string') content.push({ owner, dirRel, name: r['name'], path: r['path'] });
  }
  return { docs, content };
}

/** Checks a document's format version and brings it up to the current one. */
export function upgradeDocument(doc: ParsedDocument, where: string): ParsedDocument {
  const raw = doc.rootAttributes['formatVersion'];
  if (raw === undefined) {
    throw new UserError('CATALOG_FILE_INVALID', `the root element <${doc.rootName}> has no formatVersion attribute`, {
      where,
      hint: `add formatVersion="${CURRENT_FORMAT_VERSION}" to the root element if the file is otherwise intact`,
    });
  }
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new UserError('CATALOG_FILE_INVALID', `formatVersion "${raw}" is not a positive whole number`, { where });
  }
  if (version > CURRENT_FORMAT_VERSION) {
    throw new UserError('CATALOG_FORMAT_NEWER', `this file was written by a newer abctl (catalog format version ${version}; this abctl reads versions up to ${CURRENT_FORMAT_VERSION})`, {
      where,
      hint: 'upgrade abctl to read this catalog; this abctl leaves the file untouched',
    });
  }
  let current = doc;
  for (let v = version; v < CURRENT_FORMAT_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`internal error: no catalog migration from format version ${v}`);
    current = step(current);
  }
  return current;
}

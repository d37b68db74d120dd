/**
 * Checks of what is stored: the state of each file set's archive (for describe, deployment
 * plans and verifyCatalog), and stray files in `filesets/` that no record names.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ARCHIVES_DOCUMENT, childDir, documentName, FILESETS_DIR, type StoredKind } from './format.js';
import { checkArchive, type ArchiveState } from './archive-check.js';
import { readArchiveIndex } from './archives.js';
import { memberRefs, type DocumentStore, type LoadedDocument } from './documents.js';
import { eachLimit } from './txn.js';
import type { CatalogProblem } from './types.js';
import type { Plain } from './xml-codec.js';

/** One file set definition of one appliance, with the state of its archive. */
export interface FileSetStatus {
  /** The appliance: a top-level name, or `assembly/member/...`. */
  readonly appliance: string;
  readonly fileSet: string;
  /** The definition's setting: does abctl capture this file set at all? */
  readonly capturedByDefinition: boolean;
  /** A copy inside a user-made assembly (addToAssembly): its archives are those of the object it was copied from, when it was copied. */
  readonly copy: boolean;
  readonly archive: ArchiveState;
}

/** A stored appliance (not a sibling: its file sets are its primary's) reached by a walk. */
interface StoredAppliance {
  readonly owner: string;
  /** Inside a user-made assembly. */
  readonly copy: boolean;
  readonly dirRel: string;
  readonly doc: LoadedDocument;
}

/** Every non-sibling appliance stored in the tree at `dirRel`, with its owner path. */
export async function storedAppliances(store: DocumentStore, dirRel: string, kinds: readonly StoredKind[], path: readonly string[] = [], copy = false): Promise<StoredAppliance[]> {
  const doc = await store.load(`${dirRel}/${documentName(kinds[0] ?? 'appliance')}`, kinds);
  const owner = [...path, String(doc.plain['name'])];
  if (doc.kind === 'appliance') return typeof doc.plain['fileSetsFrom'] === 'string' ? [] : [{ owner: owner.join('/'), copy, dirRel, doc }];
  const out: StoredAppliance[] = [];
  const inside = copy || doc.kind === 'assembly';
  for (const ref of memberRefs(doc)) out.push(...(await storedAppliances(store, `${dirRel}/${childDir(doc.kind, ref.name)}`, [ref.kind], owner, inside)));
  return out;
}

/** The file set states of one stored appliance (its archive index read once). */
export async function fileSetStatuses(catalogDir: string, a: StoredAppliance): Promise<FileSetStatus[]> {
  const records = readArchiveIndex(catalogDir, a.dirRel);
  const defs = Array.isArray(a.doc.plain['fileSets']) ? (a.doc.plain['fileSets'] as Plain[]) : [];
  const out: FileSetStatus[] = new Array(defs.length);
  // A few at a time: hashing is I/O-bound on large archives, CPU-bound on cached ones.
  await eachLimit(
    defs.map((d, i) => [d, i] as const),
    4,
    async ([d, i]) => {
      const name = String(d['name']);
      out[i] = { appliance: a.owner, fileSet: name, capturedByDefinition: d['captured'] !== false, copy: a.copy, archive: await checkArchive(records.find((r) => r.name === name)) };
    },
  );
  return out;
}

/** How to get a good archive again: recapture the top-level object, or (for a copy inside an assembly) the object it was copied from. */
export function recaptureHint(s: FileSetStatus): string {
  const [top, ...rest] = s.appliance.split('/');
  if (!s.copy) return `capture it again: abctl captureFileSets --appliance ${top}`;
  const member = rest.join('/');
  return (
    `the assembly holds a copy made by addToAssembly: capture the catalog object it was copied from again (abctl captureFileSets --appliance NAME), ` +
    `then replace the copy (abctl removeFromAssembly --assembly ${top} --member ${member}, then addToAssembly)`
  );
}

/** A missing or damaged archive as a problem naming appliance, file set and path; undefined for usable states. */
export function archiveProblem(s: FileSetStatus): CatalogProblem | undefined {
  const a = s.archive;
  if (a.state === 'missing') {
    return { file: a.archive.path, code: 'ARCHIVE_MISSING', message: `the archive of file set "${s.fileSet}" of appliance "${s.appliance}" is missing`, hint: recaptureHint(s) };
  }
  if (a.state === 'damaged') {
    return { file: a.archive.path, code: 'ARCHIVE_DAMAGED', message: `the archive of file set "${s.fileSet}" of appliance "${s.appliance}" is damaged: ${a.reason}`, hint: recaptureHint(s) };
  }
  return undefined;
}

/** Files in an appliance's `filesets/` that no record names (left by hand, or by a tool other than abctl). */
export async function unrecordedFiles(catalogDir: string, a: StoredAppliance): Promise<CatalogProblem[]> {
  const dir = join(catalogDir, a.dirRel, FILESETS_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const recorded = new Set(readArchiveIndex(catalogDir, a.dirRel).map((r) => r.path));
  return names
    .filter((n) => n !== ARCHIVES_DOCUMENT && !recorded.has(join(dir, n)))
    .map((n) => ({
      file: join(dir, n),
      code: 'ARCHIVE_UNRECORDED',
      message: `appliance "${a.owner}" has a file in filesets/ that no capture recorded`,
      hint: 'remove it, or capture the file set again if it should be there',
    }));
}

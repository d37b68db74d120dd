import type { ErrorCode, PluginCode } from '../core/errors.js';
/** The catalog's public shapes: what callers give to and get from `Catalog`. */
import type { Appliance } from '../core/metadata/appliance.js';
import type { Assembly, AtomicAssembly } from '../core/metadata/assembly.js';
import type { ArchiveCodec, ArchiveDigest, FileSetArchive } from './archives.js';

export type CatalogObject = Appliance | AtomicAssembly | Assembly;
export type CatalogAssembly = Assembly | AtomicAssembly;

/** A file that could not be read; the rest of the catalog still is. */
export interface CatalogProblem {
  readonly file: string;
  readonly code: ErrorCode | PluginCode;
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

/** The captured archives of catalog object `from` (top-level name) go with its copy at `owner` (`assembly/member/...`). */
export interface ArchiveCopy {
  readonly owner: string;
  readonly from: string;
}

/** A newly captured file set archive, e.g. in a job's scratch dir: the commit moves it into the catalog. */
export interface ArchiveWrite {
  /** The appliance: `name`, or `assembly/member` in an atomic assembly (a sibling means its primary's file set). */
  readonly owner: string;
  readonly fileSet: string;
  /** The finished archive, on the catalog's file system (the instance's tmp dir). */
  readonly file: string;
  readonly codec: ArchiveCodec;
  /** Size and SHA-256 as the capture computed them while writing, so the file is not read again. */
  readonly digest?: ArchiveDigest;
}

export interface CatalogChanges {
  /** Objects to create or replace (their whole state; documents that did not change are left alone). */
  readonly put?: readonly CatalogObject[];
  readonly content?: readonly ContentWrite[];
  readonly delete?: readonly CatalogRef[];
  /** Archives linked (hard links: no extra space) into members copied from catalog objects. */
  readonly archives?: readonly ArchiveCopy[];
  /**
   * New archives of file sets of objects already stored or put in this same change: one commit
   * stores an introspection's metadata and its archives together, or neither.
   */
  readonly captured?: readonly ArchiveWrite[];
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
  /** The records of the `captured` archives, in the order given. */
  readonly captured: readonly FileSetArchive[];
}

export interface CatalogSummary {
  readonly appliances: { name: string; type: string; creator: string; properties: number; contentResources: number; fileSets: number }[];
  readonly assemblies: { name: string; kind: 'assembly' | 'atomicAssembly'; creator?: string; members: number }[];
  readonly problems: CatalogProblem[];
}

/** One appliance made with one of the plugins asked about (`Catalog.appliancesMadeWith`). */
export interface PluginUse {
  /** Top-level name, or `assembly/member` inside an assembly. */
  readonly appliance: string;
  readonly plugin: string;
  /** The plugin's version when it ran; absent when the record predates participants. */
  readonly version?: string;
}

export interface PluginUseReport {
  readonly uses: PluginUse[];
  /** Documents that could not be read: any of them may hold an appliance made with the plugins. */
  readonly unreadable: CatalogProblem[];
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

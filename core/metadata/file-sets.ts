/**
 * File set definitions: a root directory and excludes, plus how the files reach the
 * instances (local copy, or a shared volume of some type) and whether the framework
 * captures them. Definitions are immutable values; an appliance swaps in a changed copy
 * after checking who is changing what.
 *
 * Defaults: owner/group `root`/`root` (the reference used `oracle`, which does not exist
 * on most targets; root exists everywhere), scope `local`, captured `true`,
 * category `user`.
 */
import { UserError } from '../errors.js';
import type { Actor } from './actor.js';
import { checkExcludePattern, compileExcludes, type ExcludeMatcher } from './excludes.js';
import { checkPartName } from './names.js';
import { asObject, readBoolean, readEnum, readOptionalString, readString, readStringArray, type PlainObject } from './plain.js';
import { INSPECT } from './redaction.js';
import { checkAbsolutePath, checkRelativePath } from './relative-paths.js';
import { label, within } from './where.js';

export const FILE_SET_CATEGORIES = ['user', 'system'] as const;
/** `system`: needed by the product; users may only switch local/shared and the shared type. */
export type FileSetCategory = (typeof FILE_SET_CATEGORIES)[number];

export const FILE_SET_SCOPES = ['local', 'shared'] as const;
export type FileSetScope = (typeof FILE_SET_SCOPES)[number];

export const SHARED_TYPES = ['NFS', 'DISK_IMAGE', 'RAW'] as const;
export type SharedType = (typeof SHARED_TYPES)[number];

export const DEFAULT_FILE_OWNER = 'root';
export const DEFAULT_FILE_GROUP = 'root';

/**
 * Where an NFS volume comes from. `plan`: the deployment plan's mount target gives it
 * (the usual case, the definition is written before anyone knows the NFS server);
 * `definition`: fixed here as `server:/export`.
 */
export type MountTarget = { readonly source: 'plan' } | { readonly source: 'definition'; readonly target: string };

export const MOUNT_TARGET_FROM_PLAN: MountTarget = Object.freeze({ source: 'plan' });

export interface FileSetDefinitionInit {
  /** Unique per appliance; the name set, no length limit. */
  readonly name: string;
  /** Absolute directory on the reference host. */
  readonly root: string;
  /** Relative to root; see excludes.ts for what each form drops. */
  readonly excludes?: readonly string[];
  readonly category?: FileSetCategory;
  readonly scope?: FileSetScope;
  /** Required when scope is `shared`, absent otherwise. */
  readonly sharedType?: SharedType | undefined;
  readonly captured?: boolean;
  readonly owner?: string;
  readonly group?: string;
  /** NFS only; defaults to "from the plan". */
  readonly mountTarget?: MountTarget | undefined;
  /**
   * Paths relative to root of files the capture's secret rules would skip (private keys,
   * credential stores: see docs/plugin-contract.md) that this file set captures on purpose.
   */
  readonly includeSecrets?: readonly string[];
  /**
   * The product keeps state here that must outlive an instance (a database's data directory):
   * engines give the instance storage of its own that survives restarts (Kubernetes: a
   * StatefulSet's volume). Local file sets only; default false.
   */
  readonly stateful?: boolean;
}

export interface FileSetDefinitionPlain {
  name: string;
  root: string;
  excludes: string[];
  category: FileSetCategory;
  scope: FileSetScope;
  sharedType?: SharedType;
  captured: boolean;
  owner: string;
  group: string;
  mountTarget?: { source: 'plan' } | { source: 'definition'; target: string };
  includeSecrets?: string[];
  stateful?: boolean;
}

/** What may be changed after creation (see FileSetDefinition.with). */
export type FileSetChanges = Partial<Omit<FileSetDefinitionInit, 'name'>>;

/** POSIX user/group names or numeric ids. */
const ACCOUNT = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})$/;
/** `server:/export/path`. */
const NFS_TARGET = /^[^\s:/]+:\/\S*$/;

function unsupported(message: string, where: string, hint: string): UserError {
  return new UserError('FILESET_SHARED_UNSUPPORTED', message, { where, hint });
}

export class FileSetDefinition {
  readonly name: string;
  readonly root: string;
  readonly excludes: readonly string[];
  readonly category: FileSetCategory;
  readonly scope: FileSetScope;
  readonly sharedType: SharedType | undefined;
  readonly captured: boolean;
  readonly owner: string;
  readonly group: string;
  readonly mountTarget: MountTarget | undefined;
  readonly includeSecrets: readonly string[];
  readonly stateful: boolean;
  #matcher: ExcludeMatcher | undefined;

  /** Checks the rules that do not depend on the appliance (clustering is checked by the appliance). */
  constructor(init: FileSetDefinitionInit) {
    const where = label('file set definition', init.name);
    checkPartName('file set definition', init.name, where);
    this.name = init.name;
    this.root = checkAbsolutePath('file set root', init.root, where);
    const excludes = (init.excludes ?? []).map((e) => checkExcludePattern(e, where));
    const dup = excludes.find((e, i) => excludes.indexOf(e) !== i);
    if (dup !== undefined) throw new UserError('PATH_INVALID', `exclude "${dup}" is listed twice`, { where });
    this.excludes = Object.freeze(excludes);
    const include = (init.includeSecrets ?? []).map((p) => checkRelativePath('includeSecrets path', p, where));
    this.includeSecrets = Object.freeze(include);
    this.category = init.category ?? 'user';
    if (!(FILE_SET_CATEGORIES as readonly string[]).includes(this.category)) {
      throw new UserError('FILESET_INVALID', `file set category "${this.category}" must be user or system`, { where });
    }
    this.scope = init.scope ?? 'local';
    if (!(FILE_SET_SCOPES as readonly string[]).includes(this.scope)) {
      throw new UserError('FILESET_INVALID', `file set scope "${this.scope}" must be local or shared`, { where });
    }
    this.captured = init.captured ?? true;
    this.owner = init.owner ?? DEFAULT_FILE_OWNER;
    this.group = init.group ?? DEFAULT_FILE_GROUP;
    for (const [field, value] of [['owner', this.owner], ['group', this.group]] as const) {
      if (!ACCOUNT.test(value)) {
        throw new UserError('FILESET_INVALID', `file set ${field} "${value}" is not a valid user/group name or numeric id`, { where });
      }
    }

    if (this.scope === 'local') {
      if (init.sharedType !== undefined) {
        throw new UserError('FILESET_INVALID', `file set sharedType "${init.sharedType}" is only for shared file sets (scope is local)`, {
          where,
          hint: 'set scope to shared, or drop sharedType',
        });
      }
      if (!this.captured) {
        throw new UserError('FILESET_INVALID', 'a local file set must be captured: nothing else would put its files on the instance', {
          where,
          hint: 'set captured to true, or make it a shared NFS file set that mounts an existing volume',
        });
      }
      this.sharedType = undefined;
    } else {
      const type = init.sharedType;
      if (type === undefined || !(SHARED_TYPES as readonly string[]).includes(type)) {
        throw new UserError('FILESET_INVALID', `shared file set needs sharedType ${SHARED_TYPES.join(', ')}${type === undefined ? '' : ` (got "${type}")`}`, { where });
      }
      this.sharedType = type;
      if (this.captured && type === 'RAW') {
        throw unsupported('captured RAW shared file sets are not available', where, 'use NFS or DISK_IMAGE to capture, or set captured to false for a raw device');
      }
      if (!this.captured && type === 'DISK_IMAGE') {
        throw unsupported(
          'a DISK_IMAGE shared file set that is not captured is refused: it would be an empty read-only volume forever',
          where,
          'capture it, or use NFS to mount an existing volume',
        );
      }
    }

    this.stateful = init.stateful ?? false;
    if (typeof this.stateful !== 'boolean') throw new UserError('FILESET_INVALID', 'file set stateful must be true or false', { where });
    if (this.stateful && this.scope !== 'local') {
      throw new UserError('FILESET_INVALID', 'stateful is for local file sets: a shared volume already outlives the instances', {
        where,
        hint: 'drop stateful, or make the file set local',
      });
    }

    if (this.scope === 'shared' && this.sharedType === 'NFS') {
      const mt = init.mountTarget ?? MOUNT_TARGET_FROM_PLAN;
      if (mt.source === 'definition' && !NFS_TARGET.test(mt.target)) {
        throw new UserError('FILESET_INVALID', `NFS mount target "${mt.target}" must look like server:/export/path`, { where });
      }
      if (mt.source !== 'plan' && mt.source !== 'definition') {
        throw new UserError('FILESET_INVALID', 'mount target source must be plan or definition', { where });
      }
      this.mountTarget = Object.freeze(mt.source === 'plan' ? { source: 'plan' as const } : { source: 'definition' as const, target: mt.target });
    } else {
      if (init.mountTarget !== undefined) {
        throw new UserError('FILESET_INVALID', 'a mount target is only for shared NFS file sets', { where });
      }
      this.mountTarget = undefined;
    }
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  /** The excludes compiled once, for capture to test every file against. */
  get excludeMatcher(): ExcludeMatcher {
    this.#matcher ??= compileExcludes(this.excludes);
    return this.#matcher;
  }

  /**
   * Captured NFS/DISK_IMAGE and RAW volumes are shared between instances of one
   * clustered appliance; the appliance checks this against its scalability.
   */
  get needsCluster(): boolean {
    if (this.scope !== 'shared') return false;
    return this.captured || this.sharedType === 'RAW';
  }

  /** Copy with changes applied and re-checked (no actor check: see checkFileSetEdit). */
  with(changes: FileSetChanges): FileSetDefinition {
    const base: FileSetDefinitionInit = { ...this.#init(), ...changes };
    // Leaving shared makes the NFS-only fields meaningless; drop them rather than fail.
    const local = base.scope === 'local';
    const nfs = base.scope === 'shared' && base.sharedType === 'NFS';
    return new FileSetDefinition({
      ...base,
      sharedType: local ? undefined : base.sharedType,
      mountTarget: nfs ? base.mountTarget : undefined,
      stateful: local ? base.stateful : false,
    });
  }

  #init(): FileSetDefinitionInit {
    return {
      name: this.name,
      root: this.root,
      excludes: this.excludes,
      category: this.category,
      scope: this.scope,
      sharedType: this.sharedType,
      captured: this.captured,
      owner: this.owner,
      group: this.group,
      mountTarget: this.mountTarget,
      includeSecrets: this.includeSecrets,
      stateful: this.stateful,
    };
  }

  toPlain(): FileSetDefinitionPlain {
    const plain: FileSetDefinitionPlain = {
      name: this.name,
      root: this.root,
      excludes: [...this.excludes],
      category: this.category,
      scope: this.scope,
      captured: this.captured,
      owner: this.owner,
      group: this.group,
    };
    if (this.sharedType !== undefined) plain.sharedType = this.sharedType;
    if (this.mountTarget !== undefined) plain.mountTarget = { ...this.mountTarget };
    // Only when set: documents without it stay as they were.
    if (this.includeSecrets.length > 0) plain.includeSecrets = [...this.includeSecrets];
    if (this.stateful) plain.stateful = true;
    return plain;
  }

  toJSON(): FileSetDefinitionPlain {
    return this.toPlain();
  }

  toString(): string {
    const how = this.scope === 'local' ? 'local' : `shared ${this.sharedType ?? ''}`;
    return `file set ${this.name} (${this.root}, ${how}${this.captured ? ', captured' : ''})`;
  }

  [INSPECT](): unknown {
    return this.toPlain();
  }

  static fromPlain(value: unknown): FileSetDefinition {
    const o = asObject(value, 'file set definition');
    const name = readString(o, 'name');
    const init = within(label('file set definition', name), (): FileSetDefinitionInit => {
      const sharedType = o['sharedType'] === undefined ? undefined : readEnum(o, 'sharedType', SHARED_TYPES);
      return {
        name,
        root: readString(o, 'root'),
        excludes: readStringArray(o, 'excludes'),
        category: readEnum(o, 'category', FILE_SET_CATEGORIES),
        scope: readEnum(o, 'scope', FILE_SET_SCOPES),
        sharedType,
        captured: readBoolean(o, 'captured'),
        owner: readString(o, 'owner'),
        group: readString(o, 'group'),
        mountTarget: readMountTarget(o),
        ...(o['includeSecrets'] === undefined ? {} : { includeSecrets: readStringArray(o, 'includeSecrets') }),
        ...(o['stateful'] === undefined ? {} : { stateful: readBoolean(o, 'stateful') }),
      };
    });
    return new FileSetDefinition(init);
  }
}

function readMountTarget(o: PlainObject): MountTarget | undefined {
  if (o['mountTarget'] === undefined) return undefined;
  const mt = asObject(o['mountTarget'], 'field "mountTarget"');
  const source = readEnum(mt, 'source', ['plan', 'definition'] as const);
  return source === 'plan' ? { source } : { source, target: readOptionalString(mt, 'target') ?? '' };
}

/**
 * Who may change what: users may edit and remove user definitions; on system
 * definitions they may only switch local/shared and the shared type (plus the NFS
 * mount target that comes with choosing NFS). Plugins and the framework may do anything.
 */
export function checkFileSetEdit(def: FileSetDefinition, changes: FileSetChanges, actor: Actor, where?: string): void {
  if (actor !== 'user') return;
  if (changes.category !== undefined && changes.category !== def.category) {
    throw new UserError('FILESET_READ_ONLY', `file set "${def.name}": users cannot change the category (${def.category})`, { where });
  }
  if (def.category === 'user') return;
  const allowed = new Set(['scope', 'sharedType', 'mountTarget']);
  const refused = Object.keys(changes).filter((k) => !allowed.has(k) && changes[k as keyof FileSetChanges] !== undefined);
  if (refused.length > 0) {
    throw new UserError(
      'FILESET_READ_ONLY',
      `system file set "${def.name}": users may only change scope (local/shared) and the shared type, not ${refused.join(', ')}`,
      { where, hint: 'system file sets hold files the product needs; add a user file set for anything else' },
    );
  }
}

/**
 * Builds the extension tree from what discovery read: resolves parents, finds duplicates
 * and cycles, checks SDK and parent versions, and decides each plugin's state. A problem
 * breaks only the plugin it belongs to (and, through PARENT_BROKEN, its descendants);
 * everything else stays usable. No I/O, no recursion: chains of any depth are fine.
 */
import type {
  ActivationOutcome,
  PluginDirectoryReading,
  PluginInventory,
  PluginProblem,
  PluginRecord,
} from './plugin-model.js';
import { compareVersions } from './version.js';

/** Records are filled in over several passes before they are handed out. */
type Draft = { -readonly [K in keyof PluginRecord]: PluginRecord[K] } & { problems: PluginProblem[]; children: string[] };

export const TreeProblemCode = Object.freeze({
  /** Another directory already supplied a plugin of this name. */
  DUPLICATE_NAME: 'PLUGIN_DUPLICATE_NAME',
  /** minSdkVersion is newer than the SDK this framework implements. */
  SDK_UNSUPPORTED: 'PLUGIN_SDK_UNSUPPORTED',
  PARENT_MISSING: 'PARENT_MISSING',
  PARENT_TOO_OLD: 'PARENT_TOO_OLD',
  PARENT_CYCLE: 'PARENT_CYCLE',
  PARENT_BROKEN: 'PARENT_BROKEN',
});

export interface BuildInventoryOptions {
  /** Names the user disabled; unknown names are ignored. */
  readonly disabled: ReadonlySet<string>;
  /** SDK version this framework implements (SDK_VERSION). */
  readonly sdkVersion: string;
}

/**
 * `readings` must be in precedence order: the instance's installed plugins first, then
 * the bundled ones, so an installed plugin shadows a bundled plugin of the same name
 * (that is how a user upgrades a shipped plugin). The first reading of a name wins; each
 * later one becomes a broken record in `inventory.duplicates` and its problem is also
 * listed in `inventory.problems`, since `records` holds one record per name.
 */
export function buildPluginInventory(
  readings: readonly PluginDirectoryReading[],
  opts: BuildInventoryOptions,
): PluginInventory {
  const records = new Map<string, Draft>();
  const duplicates: Draft[] = [];
  const problems: PluginProblem[] = [];

  for (const r of readings) {
    const name = r.manifest?.name ?? r.dirName;
    const rec: Draft = {
      name,
      directory: r.directory,
      source: r.source,
      manifest: r.manifest,
      problems: [...r.problems],
      parentName: r.manifest?.parentName,
      children: [],
      rootName: name,
      state: 'broken',
      disabledBy: undefined,
    };
    const first = records.get(name);
    if (first !== undefined) {
      const p: PluginProblem = {
        code: TreeProblemCode.DUPLICATE_NAME,
        message:
          `plugin "${name}" in ${r.directory} (${r.source}) is ignored: ` +
          `${first.directory} (${first.source}) already provides that name`,
        where: configOf(r.directory, 'name'),
        hint: `remove one of the two directories; ${first.directory} takes precedence`,
      };
      rec.problems.push(p);
      problems.push(p);
      duplicates.push(rec);
      continue;
    }
    if (r.manifest === undefined && rec.problems.length === 0) {
      // A reading without manifest must say why; never let it pass as healthy.
      rec.problems.push({
        code: 'PLUGIN_CONFIG_INVALID',
        message: `plugin directory ${r.directory} has no usable plugin.config`,
        where: configOf(r.directory),
      });
    }
    records.set(name, rec);
  }

  // Checks that depend only on the record and its direct parent's manifest.
  for (const rec of records.values()) {
    const m = rec.manifest;
    if (m === undefined) continue;
    if (isNewer(m.minSdkVersion, opts.sdkVersion)) {
      rec.problems.push({
        code: TreeProblemCode.SDK_UNSUPPORTED,
        message: `requires SDK ${m.minSdkVersion}, this framework implements ${opts.sdkVersion}; upgrade abctl`,
        where: configOf(rec.directory, 'minSdkVersion'),
        hint: `upgrade abctl to a release implementing SDK ${m.minSdkVersion}, or install an older version of "${rec.name}"`,
      });
    }
    if (m.parentName === undefined) continue;
    const parent = records.get(m.parentName);
    if (parent === undefined) {
      rec.problems.push({
        code: TreeProblemCode.PARENT_MISSING,
        message: `parent plugin "${m.parentName}" of extension "${rec.name}" is not installed`,
        where: configOf(rec.directory, 'parentName'),
        hint: `install "${m.parentName}" first, or correct parentName`,
      });
    } else {
      parent.children.push(rec.name);
      const pv = parent.manifest?.version;
      if (m.minParentVersion !== undefined && pv !== undefined && isNewer(m.minParentVersion, pv)) {
        rec.problems.push({
          code: TreeProblemCode.PARENT_TOO_OLD,
          message: `needs "${parent.name}" version ${m.minParentVersion} or later, but version ${pv} is installed`,
          where: configOf(rec.directory, 'minParentVersion'),
          hint: `upgrade "${parent.name}" to ${m.minParentVersion} or later, or install an older "${rec.name}"`,
        });
      }
    }
  }

  for (const rec of records.values()) rec.children.sort(byCodeUnit);

  markCycles(records);
  resolveStates(records, opts.disabled);

  return { records, problems, duplicates };
}

/**
 * Each record has at most one parent, so the parent links form a functional graph and
 * every cycle is found by walking up from each unvisited node once (linear time).
 */
function markCycles(records: Map<string, Draft>): void {
  const done = new Set<string>();
  for (const start of records.keys()) {
    if (done.has(start)) continue;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let cur: string | undefined = start;
    while (cur !== undefined && !done.has(cur)) {
      const rec = records.get(cur);
      if (rec === undefined) break;
      onPath.set(cur, path.length);
      path.push(cur);
      const next = rec.parentName;
      if (next !== undefined && onPath.has(next)) {
        const cycle = path.slice(onPath.get(next));
        flagCycle(records, cycle);
        break;
      }
      cur = next;
    }
    for (const n of path) done.add(n);
  }
}

function flagCycle(records: Map<string, Draft>, cycle: readonly string[]): void {
  // `cycle` runs child -> parent; each member's message starts from itself.
  for (let i = 0; i < cycle.length; i++) {
    const text = cycleText(cycle, i);
    const rec = records.get(cycle[i] as string) as Draft;
    rec.rootName = rec.name;
    rec.problems.push({
      code: TreeProblemCode.PARENT_CYCLE,
      message:
        cycle.length === 1
          ? `extension "${rec.name}" names itself as its parent`
          : `parentName forms a cycle: ${text}`,
      where: configOf(rec.directory, 'parentName'),
      hint: 'break the cycle: at least one of these must be a top-level plugin (no parentName) or name another parent',
    });
  }
}

/** Most cycles are short; a huge one is shown abbreviated so the messages stay linear in size. */
const CYCLE_TEXT_LIMIT = 12;

function cycleText(cycle: readonly string[], from: number): string {
  const at = (k: number): string => cycle[(from + k) % cycle.length] as string;
  const names: string[] = [];
  if (cycle.length <= CYCLE_TEXT_LIMIT) {
    for (let k = 0; k < cycle.length; k++) names.push(at(k));
  } else {
    const head = CYCLE_TEXT_LIMIT - 2;
    for (let k = 0; k < head; k++) names.push(at(k));
    names.push(`... (${cycle.length - head - 1} more)`, at(cycle.length - 1));
  }
  names.push(at(0));
  return names.join(' -> ');
}

/**
 * Decides rootName, PARENT_BROKEN, state and disabledBy, parents before children. Each
 * unresolved chain is walked up once and resolved top-down from an explicit stack.
 */
function resolveStates(records: Map<string, Draft>, disabled: ReadonlySet<string>): void {
  const resolved = new Set<string>();
  const stack: Draft[] = [];
  for (const start of records.values()) {
    let cur: Draft | undefined = start;
    while (cur !== undefined && !resolved.has(cur.name)) {
      stack.push(cur);
      if (cur.problems.some((p) => p.code === TreeProblemCode.PARENT_CYCLE)) break;
      cur = cur.parentName === undefined ? undefined : records.get(cur.parentName);
    }
    while (stack.length > 0) {
      const rec = stack.pop() as Draft;
      const inCycle = rec.problems.some((p) => p.code === TreeProblemCode.PARENT_CYCLE);
      const parent = inCycle || rec.parentName === undefined ? undefined : records.get(rec.parentName);
      resolveOne(rec, parent, disabled);
      resolved.add(rec.name);
    }
  }
}

function resolveOne(rec: Draft, parent: Draft | undefined, disabled: ReadonlySet<string>): void {
  rec.rootName = parent?.rootName ?? rec.name;
  if (disabled.has(rec.name) || parent?.userDisabled === true) rec.userDisabled = true;
  if (parent?.state === 'broken') {
    rec.problems.push({
      code: TreeProblemCode.PARENT_BROKEN,
      message: `parent "${parent.name}" is broken, so its extension "${rec.name}" cannot run`,
      where: configOf(rec.directory, 'parentName'),
      hint: `fix "${parent.name}" first (abctl describePlugins shows its problems)`,
    });
  }
  if (rec.problems.length > 0) {
    rec.state = 'broken';
    // The ancestor where the breakage started carries over, as for disabling.
    rec.disabledBy = parent?.state === 'broken' ? (parent.disabledBy ?? parent.name) : undefined;
  } else if (disabled.has(rec.name)) {
    rec.state = 'disabled';
    rec.disabledBy = 'user';
  } else if (parent?.state === 'disabled') {
    rec.state = 'disabled';
    // The nearest ancestor the user disabled.
    rec.disabledBy = parent.disabledBy === 'user' ? parent.name : parent.disabledBy;
  } else {
    rec.state = 'enabled';
    rec.disabledBy = undefined;
  }
}

function isNewer(required: string, actual: string): boolean {
  try {
    return compareVersions(required, actual) > 0;
  } catch {
    // Manifests are validated before they get here; an invalid SDK string is a caller bug.
    return false;
  }
}

function configOf(directory: string, key?: string): string {
  const file = `${directory.replace(/[\\/]+$/, '')}/plugin.config`;
  return key === undefined ? file : `${file}: ${key}`;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- queries

/** Every descendant of `name`, depth-first, parent before child, siblings by name. Excludes `name`. */
export function descendantsOf(inventory: PluginInventory, name: string): string[] {
  const out: string[] = [];
  const root = inventory.records.get(name);
  if (root === undefined) return out;
  const seen = new Set<string>([name]);
  const stack = [...root.children].reverse();
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (seen.has(n)) continue; // cycles: each member once
    seen.add(n);
    out.push(n);
    const rec = inventory.records.get(n);
    if (rec !== undefined) for (let i = rec.children.length - 1; i >= 0; i--) stack.push(rec.children[i] as string);
  }
  return out;
}

/** Ancestors of `name`, nearest first (parent, grandparent, ..., root). Stops at a missing parent or a cycle. */
export function ancestorsOf(inventory: PluginInventory, name: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>([name]);
  let parent = inventory.records.get(name)?.parentName;
  while (parent !== undefined && !seen.has(parent)) {
    const rec = inventory.records.get(parent);
    if (rec === undefined) break;
    seen.add(parent);
    out.push(parent);
    parent = rec.parentName;
  }
  return out;
}

/** An extension a chain leaves out because the user disabled it or one of its ancestors. */
export interface DisabledExtension {
  readonly name: string;
  /** `user` (disabled by name) or the ancestor the user disabled. */
  readonly disabledBy: string;
}

/** What an operation started at a root plugin would run, and what it cannot or will not run. */
export interface ResolvedChain {
  readonly root: string;
  /** The root (whatever its state) followed by its enabled descendants, parent before child. */
  readonly participants: readonly string[];
  /** Extensions left out by the user's choice, each subtree parent first. */
  readonly disabled: readonly DisabledExtension[];
  /**
   * Broken extensions the chain would need, where each breakage starts (a broken extension's
   * own extensions are broken by it and listed under `brokenBelow`).
   */
  readonly broken: readonly PluginRecord[];
  /** Extensions of broken ones (PARENT_BROKEN): they cannot run either. */
  readonly brokenBelow: readonly string[];
}

/**
 * Walks the tree below `rootName` once, depth-first, siblings by name. An enabled extension
 * takes part and its children are looked at; a disabled one (or a broken one the user has
 * disabled) is left out with its subtree; a broken one is reported, never dropped silently:
 * the caller refuses to run a chain with `broken` entries.
 */
export function resolveChain(inventory: PluginInventory, rootName: string): ResolvedChain {
  const root = inventory.records.get(rootName);
  const participants: string[] = [];
  const disabled: DisabledExtension[] = [];
  const broken: PluginRecord[] = [];
  const brokenBelow: string[] = [];
  if (root === undefined) return { root: rootName, participants, disabled, broken, brokenBelow };
  participants.push(rootName);
  const seen = new Set<string>([rootName]);
  // [name, what the nearest left-out ancestor was]: a subtree is classified by its top.
  const stack: [string, 'run' | 'disabled' | 'broken', string][] = [...root.children].reverse().map((c) => [c, 'run', '']);
  while (stack.length > 0) {
    const [n, above, top] = stack.pop() as [string, 'run' | 'disabled' | 'broken', string];
    const rec = inventory.records.get(n);
    if (rec === undefined || seen.has(n)) continue;
    seen.add(n);
    let mode: 'run' | 'disabled' | 'broken' = above;
    let from = top;
    if (above === 'disabled') disabled.push({ name: n, disabledBy: top });
    else if (above === 'broken') brokenBelow.push(n);
    else if (rec.state === 'enabled') participants.push(n);
    else if (rec.state === 'disabled' || rec.userDisabled === true) {
      disabled.push({ name: n, disabledBy: rec.state === 'disabled' && rec.disabledBy !== undefined && rec.disabledBy !== 'user' ? rec.disabledBy : 'user' });
      mode = 'disabled';
      from = n;
    } else {
      broken.push(rec);
      mode = 'broken';
      from = n;
    }
    for (let i = rec.children.length - 1; i >= 0; i--) stack.push([rec.children[i] as string, mode, from]);
  }
  return { root: rootName, participants, disabled, broken, brokenBelow };
}

/** `a, b (with a)`: the extensions a chain left out, for a line of output. */
export function disabledText(disabled: readonly DisabledExtension[]): string {
  return disabled.map((d) => (d.disabledBy === 'user' ? d.name : `${d.name} (with ${d.disabledBy})`)).join(', ');
}

/**
 * The plugins that take part in an operation started at `rootName`: the root itself
 * (whatever its state; the caller decides whether it may run) followed by its enabled
 * descendants in execution order, parent before child. Disabled or broken extensions are
 * left out with their whole subtree; `resolveChain` says which and why, and a caller that
 * runs the chain must refuse broken ones (services/jobs/plugin-chain.ts). Empty when
 * `rootName` is unknown.
 */
export function participantsOf(inventory: PluginInventory, rootName: string): string[] {
  return [...resolveChain(inventory, rootName).participants];
}

/**
 * The inventory as it stands after activation: every plugin the outcome reports broken or
 * skipped becomes a broken copy carrying the activation's problems (a skipped one is broken
 * by its ancestor, as for PARENT_BROKEN at discovery). Other records are shared, not copied.
 */
export function withActivationOutcome(inventory: PluginInventory, outcome: ActivationOutcome): PluginInventory {
  const records = new Map<string, PluginRecord>();
  for (const [name, record] of inventory.records) {
    const activation = outcome.plugins.get(name);
    if (activation === undefined || activation.status === 'active') {
      records.set(name, record);
      continue;
    }
    records.set(name, {
      ...record,
      problems: [...record.problems, ...activation.problems],
      state: 'broken',
      disabledBy: activation.status === 'skipped' ? activation.brokenAncestor : undefined,
    });
  }
  return { ...inventory, records };
}

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inject, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { PluginDirectoryReading, PluginRecord } from '../../core/plugin-model.js';
import { ancestorsOf, descendantsOf } from '../../core/plugin-tree.js';
import { compareVersions } from '../../core/version.js';
import { InstanceLayout } from '../instance.js';
import { withInstanceLock } from '../instance-lock.js';
import { ActivationFailureStore } from './activation-failures.js';
import { copyPlanned, planPluginCopy, type CopyPlan } from './plugin-copy.js';
import { PluginInventoryService } from './plugin-inventory-service.js';
import { PluginLinkStore } from './plugin-links.js';
import { PluginUsage, type PluginUseReport } from './plugin-usage.js';
import { readProductPlugins } from './product-home.js';

export type InstallAction = 'installed' | 'upgraded' | 'downgraded' | 'reinstalled' | 'linked' | 'unchanged' | 'skipped' | 'refused';

export interface InstallOutcome {
  readonly name: string;
  readonly version: string | undefined;
  readonly action: InstallAction;
  readonly previousVersion?: string;
  readonly reason?: string;
  readonly from: string;
}

export interface InstallOptions {
  /** Install an older version over a newer one (still refused while its appliances exist). */
  readonly allowDowngrade?: boolean;
  /** Replace an installed copy of the same version (the edit loop without a version bump). */
  readonly force?: boolean;
  /**
   * Development: link the instance to the plugin directory instead of copying it, so every
   * edit is used by the next command. Recorded, and shown by describePlugins.
   */
  readonly link?: boolean;
}

const tag = (): string => randomBytes(4).toString('hex');

/**
 * Install, upgrade, delete, enable and disable plugins of one instance, under the rules of
 * the SDK's installation guidelines. Every change runs under the instance lock; a plugin
 * directory is copied beside its final place and renamed in, so a failed copy changes nothing.
 */
@injectable()
export class PluginInstaller {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly inventory: PluginInventoryService,
    @inject(PluginUsage) private readonly usage: PluginUsage,
    @inject(ActivationFailureStore) private readonly hung: ActivationFailureStore,
  ) {
    this.links = new PluginLinkStore(layout.configDir);
  }

  /** The record of plugins installed by link. */
  readonly links: PluginLinkStore;

  async install(from: string, options: InstallOptions = {}): Promise<InstallOutcome[]> {
    const home = resolve(from);
    if (!(await stat(home).catch(() => undefined))?.isDirectory()) {
      throw new UserError('INSTALL_SOURCE_MISSING', `${home} is not a directory`, {
        hint: 'pass --from the product home (with plugins/introspector/<name>/) or a directory of plugin directories',
      });
    }
    return withInstanceLock(this.layout.root, 'install plugins', async () => {
      await this.recoverInterruptedReplace();
      const { readings, problems } = await readProductPlugins(home);
      if (readings.length === 0) {
        const why = problems.map((p) => p.message).join('; ');
        throw new UserError('INSTALL_NOTHING_FOUND', `no plugin directories found in ${home}${why ? `: ${why}` : ''}`, {
          hint: 'a plugin directory holds a plugin.config; see docs/plugins.md for the layouts abctl reads',
        });
      }
      const outcomes = await this.installReadings(readings, options);
      // New code deserves a fresh try, even where the entry module's bytes happen to match.
      await this.hung.forget(outcomes.filter((o) => o.action !== 'unchanged' && o.action !== 'skipped' && o.action !== 'refused').map((o) => o.name));
      this.inventory.invalidate();
      return outcomes;
    });
  }

  private async installReadings(readings: PluginDirectoryReading[], options: InstallOptions): Promise<InstallOutcome[]> {
    const current = await this.inventory.get();
    const links = await this.links.read();
    const linksBefore = links.size;
    const outcomes: InstallOutcome[] = [];
    // Versions that will be in effect once this batch is done: lets an extension ride in with its parent.
    const effective = new Map<string, string>();
    for (const r of current.records.values()) if (r.manifest && r.state !== 'broken') effective.set(r.name, r.manifest.version);

    const refuse = (r: PluginDirectoryReading, reason: string): void => {
      outcomes.push({ name: r.manifest?.name ?? r.dirName, version: r.manifest?.version, action: 'refused', reason, from: r.directory });
    };

    const valid: PluginDirectoryReading[] = [];
    const seen = new Set<string>();
    for (const r of readings) {
      if (!r.manifest) refuse(r, r.problems.map((p) => `${p.where}: ${p.message}`).join('; '));
      else if (seen.has(r.manifest.name)) refuse(r, `another directory in the same source is also named ${r.manifest.name}`);
      else {
        seen.add(r.manifest.name);
        valid.push(r);
      }
    }

    for (const r of orderParentsFirst(valid)) {
      const m = r.manifest!;
      if (compareVersions(m.minSdkVersion, SDK_VERSION) > 0) {
        refuse(r, `requires plugin SDK ${m.minSdkVersion}; this abctl implements ${SDK_VERSION}`);
        continue;
      }
      if (m.parentName !== undefined) {
        const parentVersion = effective.get(m.parentName);
        if (parentVersion === undefined) {
          refuse(r, `its parent ${m.parentName} is not installed; install ${m.parentName} first`);
          continue;
        }
        if (m.minParentVersion !== undefined && compareVersions(parentVersion, m.minParentVersion) < 0) {
          refuse(r, `needs ${m.parentName} ${m.minParentVersion} or later; ${parentVersion} is installed`);
          continue;
        }
      }
      const existing = current.records.get(m.name);
      const before = existing?.manifest?.version;
      const wasLinked = existing?.source === 'installed' && links.has(m.name);
      // A broken install has no version worth keeping: anything may replace it.
      const cmp = before !== undefined && existing?.state !== 'broken' ? compareVersions(m.version, before) : undefined;
      const previous = before !== undefined ? { previousVersion: before } : {};
      // The version rules hold for links as for copies: a link is as much "the installed plugin" to rehydration.
      if (cmp !== undefined && cmp < 0) {
        if (!options.allowDowngrade) {
          outcomes.push({
            name: m.name, version: m.version, previousVersion: before!, action: 'skipped', from: r.directory,
            reason: `installed version ${before} is newer; pass --allow-downgrade to replace it`,
          });
          continue;
        }
        const blocked = await this.inUse([m.name]);
        if (blocked !== undefined) {
          refuse(r, `cannot downgrade ${m.name} from ${before} to ${m.version}: ${blocked.reason}; ${blocked.hint}`);
          continue;
        }
      }
      if (options.link) {
        await this.linkIn(r.directory, m.name);
        links.set(m.name, await realpath(r.directory));
        effective.set(m.name, m.version);
        outcomes.push({ name: m.name, version: m.version, action: 'linked', from: r.directory, ...previous });
        continue;
      }
      let action: InstallAction = 'installed';
      if (cmp !== undefined) {
        if (cmp < 0) action = 'downgraded';
        else if (cmp > 0) action = 'upgraded';
        // A link is a development state: a normal install of the same version replaces it with a copy.
        else if (wasLinked) action = 'installed';
        else if (options.force) action = 'reinstalled';
        else {
          outcomes.push({ name: m.name, version: m.version, action: 'unchanged', from: r.directory });
          continue;
        }
      }
      const plan = await planPluginCopy(r.directory).catch((err: unknown) => {
        throw new UserError('INSTALL_COPY_FAILED', `cannot read ${r.directory}: ${(err as Error).message}`, { cause: err, hint: 'make the plugin directory readable and try again' });
      });
      if (plan.refused.length > 0) {
        refuse(r, `only regular files and directories are installed, and links to files inside the plugin; ${r.directory} has ${plan.refused.join('; ')}`);
        continue;
      }
      await this.copyIn(plan, r.directory, m.name);
      links.delete(m.name);
      effective.set(m.name, m.version);
      outcomes.push({ name: m.name, version: m.version, action, from: r.directory, ...previous });
    }
    if (links.size > 0 || linksBefore > 0) await this.links.write(links);
    return outcomes;
  }

  /**
   * The install rules' question: does the catalog hold appliances made with any of `plugins`
   * (as creator or recorded participant)? A catalog document that cannot be read answers
   * "maybe", which refuses too: going ahead could strand an appliance the file describes.
   */
  private async inUse(plugins: readonly string[]): Promise<InUse | undefined> {
    // Always called under the instance lock, which also keeps an introspection from adding one meanwhile.
    const { uses, unreadable } = await this.usage.appliancesMadeWith(plugins, { lockHeld: true });
    if (uses.length > 0) {
      return {
        code: 'PLUGIN_IN_USE',
        reason: `the catalog has appliances made with ${joinNames(plugins)}: ${describeUses(uses)}`,
        hint: 'delete those appliances first (abctl deleteAppliance / deleteAssembly)',
      };
    }
    if (unreadable.length > 0) {
      return {
        code: 'PLUGIN_USE_UNKNOWN',
        reason: `the catalog cannot tell whether appliances made with ${joinNames(plugins)} exist, because ${unreadable.length === 1 ? 'a document' : 'documents'} could not be read: ${unreadable.map((p) => `${p.file} (${p.message})`).join('; ')}`,
        hint: 'abctl verifyCatalog lists the damage; repair the file (or restore it from a backup) or delete the appliance or assembly it belongs to, then try again',
        where: unreadable[0]!.file,
      };
    }
    return undefined;
  }

  /** A symbolic link to the plugin directory, swapped in like a copy. */
  private async linkIn(source: string, name: string): Promise<void> {
    await mkdir(this.layout.pluginsDir, { recursive: true });
    const staging = join(this.layout.pluginsDir, `.staging-${name}-${tag()}`);
    await symlink(await realpath(source), staging, 'dir');
    await this.swapIn(staging, name);
  }

  /** Copy beside the target, then swap it in with renames. */
  private async copyIn(plan: CopyPlan, source: string, name: string): Promise<void> {
    await mkdir(this.layout.pluginsDir, { recursive: true });
    const staging = join(this.layout.pluginsDir, `.staging-${name}-${tag()}`);
    try {
      await copyPlanned(plan, staging);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw new UserError('INSTALL_COPY_FAILED', `cannot copy ${source}: ${(err as Error).message}`, { cause: err });
    }
    await this.swapIn(staging, name);
  }

  /** Puts `staging` in place of the plugin `name` with renames (the old one, copy or link, goes). */
  private async swapIn(staging: string, name: string): Promise<void> {
    const target = join(this.layout.pluginsDir, name);
    const replaced = join(this.layout.pluginsDir, `.replaced-${name}`);
    const hadOld = await lstat(target).then(() => true, () => false);
    if (hadOld) await rename(target, replaced);
    await rename(staging, target);
    if (hadOld) await rm(replaced, { recursive: true, force: true });
  }

  /** A crash between the two renames of `copyIn` leaves only `.replaced-<name>`: put it back. */
  private async recoverInterruptedReplace(): Promise<void> {
    const entries = await readdir(this.layout.pluginsDir).catch(() => [] as string[]);
    for (const e of entries) {
      const dir = join(this.layout.pluginsDir, e);
      if (e.startsWith('.staging-')) await rm(dir, { recursive: true, force: true });
      if (!e.startsWith('.replaced-')) continue;
      const target = join(this.layout.pluginsDir, e.slice('.replaced-'.length));
      if (await stat(target).then(() => true, () => false)) await rm(dir, { recursive: true, force: true });
      else await rename(dir, target);
    }
  }

  /** Deletes an installed plugin and every installed extension below it. */
  async uninstall(name: string): Promise<{ removed: string[]; leftBroken: string[] }> {
    return withInstanceLock(this.layout.root, `uninstall ${name}`, async () => {
      const inv = await this.inventory.get();
      const record = requireRecord(inv.records, name);
      if (record.source !== 'installed') {
        throw new UserError('PLUGIN_BUNDLED', `${name} ships with abctl and cannot be uninstalled`, {
          where: record.directory,
          hint: `disable it instead: abctl disablePlugin --name ${name}`,
        });
      }
      const targets = [name, ...descendantsOf(inv, name)].map((n) => inv.records.get(n)!);
      const installed = targets.filter((r) => r.source === 'installed');
      const blocked = await this.inUse(installed.map((r) => r.name));
      if (blocked !== undefined) {
        throw new UserError(blocked.code, `cannot uninstall ${name}: ${blocked.reason}`, { hint: blocked.hint, ...(blocked.where !== undefined ? { where: blocked.where } : {}) });
      }
      // Rename first so a half-done delete is never mistaken for an installed plugin.
      for (const r of installed) {
        const doomed = join(this.layout.pluginsDir, `.deleting-${r.name}-${tag()}`);
        await rename(r.directory, doomed);
        await rm(doomed, { recursive: true, force: true });
      }
      const removed = new Set(installed.map((r) => r.name));
      const links = await this.links.read();
      if ([...removed].some((n) => links.delete(n))) await this.links.write(links);
      const disabled = await this.inventory.state.readDisabled();
      if ([...removed].some((n) => disabled.delete(n))) await this.inventory.state.writeDisabled(disabled);
      await this.hung.forget([...removed]);
      this.inventory.invalidate();
      return { removed: [...removed], leftBroken: targets.filter((r) => !removed.has(r.name)).map((r) => r.name) };
    });
  }

  /**
   * Disables a plugin and, recursively, every extension below it. Allowed while appliances
   * made with them exist (enabling undoes it), but `warnings` names those appliances: their
   * rehydration would run without the disabled plugins.
   */
  async disable(name: string): Promise<{ disabled: string[]; warnings: string[] }> {
    const names = await withInstanceLock(this.layout.root, `disable ${name}`, async () => {
      const inv = await this.inventory.get();
      requireRecord(inv.records, name);
      const names = [name, ...descendantsOf(inv, name)];
      const disabled = await this.inventory.state.readDisabled();
      for (const n of names) disabled.add(n);
      await this.inventory.state.writeDisabled(disabled);
      this.inventory.invalidate();
      return names;
    });
    // Read after the lock is released: only a warning, and a catalog read may itself need the lock.
    const { uses, unreadable } = await this.usage.appliancesMadeWith(names);
    const warnings: string[] = [];
    if (uses.length > 0) {
      warnings.push(`appliances made with ${joinNames(names)} exist: ${describeUses(uses)}; their rehydration (deploy, start, stop, ping) now runs without ${joinNames(names)} (abctl enablePlugin --name ${name} --recursive undoes this)`);
    }
    for (const p of unreadable) warnings.push(`could not check ${p.file} for appliances made with ${joinNames(names)}: ${p.message}`);
    return { disabled: names, warnings };
  }

  /**
   * Enables a plugin (and with `recursive`, its extensions); refused under a disabled parent.
   * Also forgets that they hung, so the next command tries them again.
   */
  async enable(name: string, options: { recursive?: boolean } = {}): Promise<{ enabled: string[]; warnings: string[] }> {
    return withInstanceLock(this.layout.root, `enable ${name}`, async () => {
      const inv = await this.inventory.get();
      const record = requireRecord(inv.records, name);
      const disabled = await this.inventory.state.readDisabled();
      const blocked = ancestorsOf(inv, name).find((a) => disabled.has(a));
      if (blocked !== undefined) {
        throw new UserError('PARENT_DISABLED', `cannot enable ${name}: its ancestor ${blocked} is disabled`, {
          hint: `enable ${blocked} first: abctl enablePlugin --name ${blocked}`,
        });
      }
      const names = options.recursive ? [name, ...descendantsOf(inv, name)] : [name];
      for (const n of names) disabled.delete(n);
      await this.inventory.state.writeDisabled(disabled);
      await this.hung.forget(names);
      this.inventory.invalidate();
      const warnings = names
        .map((n) => inv.records.get(n)!)
        .filter((r) => r.problems.length > 0)
        .map((r) => `${r.name} is enabled but broken: ${r.problems[0]!.message}`);
      return { enabled: names, warnings };
    });
  }
}

function requireRecord(records: ReadonlyMap<string, PluginRecord>, name: string): PluginRecord {
  const record = records.get(name);
  if (!record) {
    throw new UserError('PLUGIN_UNKNOWN', `no plugin named ${name}`, { hint: 'abctl describePlugins lists the plugins' });
  }
  return record;
}

/** Why `plugins` count as in use, for a refusal; undefined when the catalog shows they are not. */
interface InUse {
  readonly code: 'PLUGIN_IN_USE' | 'PLUGIN_USE_UNKNOWN';
  readonly reason: string;
  readonly hint: string;
  readonly where?: string;
}

function joinNames(names: readonly string[]): string {
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** `shop/db (by pg 2.0)`, one plugin per entry; an old record without versions shows the plugin only. */
function describeUses(uses: PluginUseReport['uses']): string {
  return uses.map((u) => `${u.appliance} (by ${u.plugin}${u.version !== undefined ? ` ${u.version}` : ''})`).join(', ');
}

/** Parents before children within one batch; members of a cycle keep input order (and get refused later). */
function orderParentsFirst(readings: PluginDirectoryReading[]): PluginDirectoryReading[] {
  const byName = new Map(readings.map((r) => [r.manifest!.name, r]));
  const depth = (r: PluginDirectoryReading): number => {
    let d = 0;
    const seen = new Set<string>();
    for (let p = r.manifest!.parentName; p !== undefined && byName.has(p) && !seen.has(p); p = byName.get(p)!.manifest!.parentName) {
      seen.add(p);
      d++;
    }
    return d;
  };
  return readings.map((r) => ({ r, d: depth(r) })).sort((a, b) => a.d - b.d).map(({ r }) => r);
}

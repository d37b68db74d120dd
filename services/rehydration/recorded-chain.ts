/**
 * The chain an appliance records (the plugins whose dehydration made it, with their versions)
 * against the chain a rehydration would run here now. Plugins are expected to rehydrate what
 * their older versions dehydrated, and an extension installed later runs and finds nothing to
 * do, so only these matter: a recorded extension that is gone or sits under another root (its
 * part cannot be rebuilt: refused), one the user disabled, and one installed at a version older
 * than the recorded one (the install rules refuse such a downgrade, so the catalog likely came
 * from another instance): both go on, said as warnings.
 */
import { UserError } from '../../core/errors.js';
import type { Appliance, Participant } from '../../core/metadata/index.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { resolveChain } from '../../core/plugin-tree.js';
import { compareVersions } from '../../core/version.js';

/** An appliance to deploy, by its path in the assembly, with what made it. */
export interface MadeAppliance {
  /** `web`, `tier/web`, `atomic/admin`. */
  readonly path: string;
  readonly creator: string;
  /** Empty on records from before the list: the creator alone counts then. */
  readonly participants: readonly Participant[];
}

/** The appliance at `path` as the check reads it. */
export function madeAppliance(path: string, appliance: Appliance): MadeAppliance {
  return { path, creator: appliance.creator, participants: appliance.participants };
}

/**
 * Compares each appliance's recorded chain with the installed one. Throws BUNDLE_EXTENSION_MISSING
 * naming every recorded extension that is not installed under the appliance's creator; returns
 * the warnings (disabled extensions, older versions), one per extension. `of` names the
 * appliances' container in messages (`assembly "site"`); `again` ends the refusal's hint
 * (`deploy again`, `write the image again`).
 */
export function checkRecordedChains(inventory: PluginInventory, appliances: readonly MadeAppliance[], of: string, again = 'deploy again'): string[] {
  const missing: string[] = [];
  const missingNames = new Set<string>();
  const withoutIt = new Map<string, { disabledBy: string; paths: string[] }>();
  const older = new Map<string, { installed: string; recorded: string; paths: string[] }>();
  for (const a of appliances) {
    const chain = resolveChain(inventory, a.creator);
    for (const p of a.participants) {
      const record = inventory.records.get(p.name);
      if (p.name !== a.creator && record?.rootName !== a.creator) {
        const where = record === undefined ? 'is not installed here' : `is installed here ${record.parentName === undefined ? 'as a plugin of its own' : `under ${record.parentName}`}, not in the chain of ${a.creator}`;
        missing.push(`appliance "${a.path}" was made with extension ${p.name} ${p.version}, which ${where}`);
        missingNames.add(p.name);
        continue;
      }
      const disabled = chain.disabled.find((d) => d.name === p.name);
      if (disabled !== undefined) {
        const entry = withoutIt.get(p.name) ?? { disabledBy: disabled.disabledBy, paths: [] };
        entry.paths.push(a.path);
        withoutIt.set(p.name, entry);
        continue;
      }
      const installed = record?.manifest?.version;
      if (installed !== undefined && compareVersions(installed, p.version) < 0) {
        const key = `${p.name}\0${installed}\0${p.version}`;
        const entry = older.get(key) ?? { installed, recorded: p.version, paths: [] };
        entry.paths.push(a.path);
        older.set(key, entry);
      }
    }
  }
  if (missing.length > 0) {
    throw new UserError('BUNDLE_EXTENSION_MISSING', `the appliances of ${of} cannot be rehydrated as they were made: ${missing.join('; ')}`, {
      where: of,
      hint: `install ${missingNames.size > 1 ? 'them' : 'it'} again, at the recorded version or newer, as an extension of the appliance's plugin (abctl installPlugins --from DIR), then ${again}`,
    });
  }
  const named = (paths: readonly string[]): string => `appliance${paths.length > 1 ? 's' : ''} ${paths.map((p) => `"${p}"`).join(', ')}`;
  return [
    ...[...withoutIt].map(
      ([name, d]) =>
        `extension ${name} is disabled${d.disabledBy === 'user' ? '' : ` (with ${d.disabledBy})`}: ${named(d.paths)} of ${of} will be rehydrated without it, though it took part in making them (abctl enablePlugin --name ${d.disabledBy === 'user' ? name : d.disabledBy} to include it)`,
    ),
    ...[...older].map(
      ([key, o]) =>
        `${key.split('\0')[0]} is installed at version ${o.installed}, older than the ${o.recorded} that made ${named(o.paths)} of ${of}: it may not rehydrate what the newer version recorded (was the catalog brought from another instance?); install ${o.recorded} or newer (abctl installPlugins --from DIR)`,
    ),
  ];
}

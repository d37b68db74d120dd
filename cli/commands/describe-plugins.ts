import type { PluginInventory, PluginRecord } from '../../core/plugin-model.js';
import { ServiceIds } from '../../core/service-ids.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { CommandRun, JsonOption } from '../command-spec.js';
import { jsonText, withApplication } from '../session.js';

export interface PluginDescription {
  readonly name: string;
  readonly version: string | null;
  readonly state: PluginRecord['state'];
  readonly source: PluginRecord['source'];
  readonly parent: string | null;
  readonly root: string;
  readonly children: readonly string[];
  readonly description: string;
  readonly directory: string;
  readonly disabledBy: string | null;
  /** The user disabled it (or an ancestor): true also for a broken one, which chains then leave out instead of failing. */
  readonly userDisabled: boolean;
  /** An extension that offers its own introspect command (running its root's whole chain). */
  readonly alias: boolean;
  /** `introspect<Name>` commands that run this plugin's chain (plugins and alias extensions). */
  readonly commands: readonly string[];
  /** Installed by link for development (`installPlugins --link`): the directory it runs from. */
  readonly linkedTo: string | null;
  readonly problems: readonly { code: string; message: string; where: string; hint?: string }[];
}

export function describeInventory(inventory: PluginInventory, aliases: ReadonlySet<string>, links: ReadonlyMap<string, string> = new Map()): PluginDescription[] {
  const out: PluginDescription[] = [];
  for (const r of inventory.records.values()) {
    const isCommand = r.state === 'enabled' && (r.parentName === undefined || aliases.has(r.name));
    out.push({
      name: r.name,
      version: r.manifest?.version ?? null,
      state: r.state,
      source: r.source,
      parent: r.parentName ?? null,
      root: r.rootName,
      children: r.children,
      description: r.manifest?.description ?? '',
      directory: r.directory,
      disabledBy: r.disabledBy ?? null,
      userDisabled: r.state === 'disabled' || r.userDisabled === true,
      alias: r.parentName !== undefined && aliases.has(r.name),
      commands: isCommand ? [`introspect${r.name}`] : [],
      linkedTo: r.source === 'installed' ? (links.get(r.name) ?? null) : null,
      problems: r.problems.map((p) => ({ ...p })),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function renderTree(plugins: readonly PluginDescription[]): string {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const lines: string[] = [];
  const visited = new Set<string>();
  const walk = (p: PluginDescription, prefix: string, last: boolean, top: boolean): void => {
    visited.add(p.name);
    const branch = top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
    const state =
      p.state === 'disabled' && p.disabledBy && p.disabledBy !== 'user' ? `disabled (by ${p.disabledBy})` : p.state === 'broken' && p.userDisabled ? 'broken, disabled' : p.state;
    const tags = [p.linkedTo ? `linked -> ${p.linkedTo}` : p.source, ...p.commands.map((c) => (p.parent ? `alias ${c}` : c))].join(', ');
    lines.push(`${branch}${p.name} ${p.version ?? '?'}  [${state}]  ${tags}${p.description ? `  - ${p.description}` : ''}`);
    const childPrefix = top ? '   ' : `${prefix}${last ? '   ' : '│  '}`;
    for (const problem of p.problems) {
      lines.push(`${childPrefix}! ${problem.where}: ${problem.message}${problem.hint ? ` (hint: ${problem.hint})` : ''}`);
    }
    const kids = p.children.map((c) => byName.get(c)).filter((c): c is PluginDescription => c !== undefined && !visited.has(c.name));
    kids.forEach((c, i) => walk(c, childPrefix, i === kids.length - 1, false));
  };
  for (const p of plugins) if (p.parent === null || !byName.has(p.parent)) walk(p, '', true, true);
  // Members of a parent cycle have no root: show them at the top so their problems are seen.
  for (const p of plugins) if (!visited.has(p.name)) walk(p, '', true, true);
  return lines.join('\n');
}

export const run: CommandRun<JsonOption> = async (opts, globals) => {
  const [{ instanceLayoutFor }, { describeCacheKey, storeDescription }] = await Promise.all([import('../help-cache.js'), import('../describe-cache.js')]);
  const layout = instanceLayoutFor(globals.instance);
  // Taken before discovery reads anything: a plugin changed meanwhile leaves a stale record, not a wrong one.
  const key = describeCacheKey(layout);
  let stopFailures = 0;
  const { json, text, broken } = await withApplication(
    globals,
    { activate: true, pluginsOnly: true, onStopped: (n) => (stopFailures = n) },
    async (app) => {
      const inventory = await app.inventory();
      const aliases = new Set(
        app.collector().getServices(ServiceIds.IntrospectorPluginExtension).filter((e) => e.alias === true).map((e) => e.name),
      );
      const { PluginLinkStore } = await import('../../services/plugins/plugin-links.js');
      const plugins = describeInventory(inventory, aliases, await new PluginLinkStore(app.layout.configDir).read());
      const problems = inventory.problems.map((p) => ({ ...p }));
      const duplicates = describeInventory({ records: new Map((inventory.duplicates ?? []).map((d) => [d.directory, d])), problems: [] }, aliases);
      const lines = [`instance ${app.layout.root} (plugin SDK ${SDK_VERSION})\n`, plugins.length ? `${renderTree(plugins)}\n` : 'no plugins found\n'];
      for (const p of problems) lines.push(`! ${p.where}: ${p.message}\n`);
      return {
        json: jsonText({ instance: app.layout.root, sdkVersion: SDK_VERSION, plugins, duplicates, problems }),
        text: lines.join(''),
        broken: plugins.some((p) => p.state === 'broken'),
      };
    },
  );
  process.stdout.write(opts.json ? json : text);
  // A broken plugin may be broken by its surroundings (a start that timed out), and a failed stop
  // printed a warning a cached answer would not repeat: only a clean run is kept.
  if (key !== undefined && !broken && stopFailures === 0) storeDescription(layout, { key, json, text });
  return 0;
};

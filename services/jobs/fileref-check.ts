/**
 * The introspection's fileRef check: a `contentresource:` value must name a content resource of
 * its appliance once the whole chain ran (an extension may add the resource its parent's
 * property names); otherwise rehydration would fail far from the cause. The plugin that set
 * the value is told, and nothing is stored. Other schemes are kept as given (see file-refs.ts).
 */
import { PluginError } from '../../core/errors.js';
import { danglingFileRefs, type Appliance } from '../../core/metadata/index.js';

export class FileRefCheck {
  /** `appliance\0property\0value` -> the first plugin after whose dehydrate the fileRef had that value. */
  private readonly setBy = new Map<string, string>();

  /** Call after each participant's dehydrate, so a dangling value is blamed on who set it. */
  note(appliances: readonly Appliance[], plugin: string): void {
    for (const a of appliances) {
      for (const p of a.properties.list()) {
        const key = `${a.name}\0${p.name}\0${p.value ?? ''}`;
        if (p.type === 'fileRef' && !this.setBy.has(key)) this.setBy.set(key, plugin);
      }
    }
  }

  check(appliances: readonly Appliance[]): void {
    for (const a of appliances) {
      const resources = a.contentResources.map((r) => r.name);
      for (const d of danglingFileRefs(a.properties.list(), resources)) {
        const plugin = this.setBy.get(`${a.name}\0${d.property}\0${d.uri}`) ?? a.creator;
        throw new PluginError(plugin, 'FILEREF_UNRESOLVED', `fileRef property "${d.property}" is ${d.uri}, but appliance "${a.name}" has no content resource "${d.resource}"`, {
          where: `appliance "${a.name}" > property "${d.property}"`,
          hint: resources.length
            ? `add the content resource with ctx.addContentResource, or point the property at one of: ${resources.join(', ')}`
            : 'add the content resource with ctx.addContentResource before pointing a fileRef at it',
        });
      }
    }
  }
}

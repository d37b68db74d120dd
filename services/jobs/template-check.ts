/**
 * The introspection's template check: every content resource a plugin marked as a template
 * parses, and names only properties of its appliance or late-binding variables. Run after the
 * whole chain, since an extension may add the properties its parent's template uses; a failure
 * is the error of the plugin that added the template, and nothing is committed.
 */
import { PluginError } from '../../core/errors.js';
import { checkTemplateVariables, lateBindingVariableNames, TemplateError } from '../../core/templates/index.js';
import type { DehydrationResult } from './dehydration-run.js';

export function checkTemplates(result: DehydrationResult): void {
  for (const appliance of result.appliances) {
    for (const resource of appliance.contentResources.filter((r) => r.template)) {
      const plugin = result.contentAddedBy.get(`${appliance.name}\0${resource.name}`) ?? appliance.creator;
      const at = `appliance "${appliance.name}" > template "${resource.name}"`;
      const bytes = result.content.get(appliance.name)?.get(resource.name) ?? new Uint8Array();
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new PluginError(plugin, 'TEMPLATE_NOT_TEXT', 'the template is not UTF-8 text', {
          where: at,
          hint: 'a template is a text file; add binary content without template: true',
        });
      }
      try {
        checkTemplateVariables({ name: resource.name, text }, appliance.properties.names(), { lateBindings: lateBindingVariableNames(appliance.outputs.map((o) => o.name)) });
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        // The TemplateError's place is `template "NAME" line L, column C`: put the appliance before it.
        const where = `appliance "${appliance.name}" > ${err.where ?? `template "${resource.name}"`}`;
        throw new PluginError(plugin, err.code, err.message, { where, ...(err.hint ? { hint: err.hint } : {}), cause: err });
      }
    }
  }
}

/**
 * Template rendering for the rehydrate context: the strict rules are core/templates'; this
 * adds only the conversion of the plugin's variables (anything) to template values.
 */
import { UserError } from '../../core/errors.js';
import { renderTemplate as renderStrict, type TemplateValue } from '../../core/templates/index.js';

export type { TemplateValue };

export function renderTemplate(source: { readonly name: string; readonly text: string }, values: Readonly<Record<string, unknown>>): string {
  const clean: Record<string, TemplateValue> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new UserError('TEMPLATE_VALUE_INVALID', `template "${source.name}": variable "${k}" must be a string, number or boolean, not ${v === null ? 'null' : typeof v}`, {
        hint: 'pass plain values in variables (e.g. String(x))',
      });
    }
    clean[k] = v;
  }
  return renderStrict(source, clean);
}

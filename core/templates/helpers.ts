/**
 * The only helpers a config template may call. Config files are not HTML, so nothing is
 * escaped unless the template says how: each helper below quotes for one format.
 */

/** A value a template can print: property values typed as in the metadata model. */
export type TemplateValue = string | number | boolean;

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe inside XML element content and in attributes quoted with either quote. */
export function xmlEscape(value: TemplateValue): string {
  return String(value).replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

/**
 * One shell word: the value in single quotes, where the shell interprets nothing; a single
 * quote inside is closed, escaped and reopened (`'\''`), the usual POSIX idiom.
 */
export function shellQuote(value: TemplateValue): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** A JSON value: strings quoted and escaped, numbers and booleans as they are. */
export function jsonValue(value: TemplateValue): string {
  return JSON.stringify(value);
}

/** Helpers that format one value: `{{xml name}}`, `{{shell (prop "a-b")}}`. */
export const FORMAT_HELPERS: Readonly<Record<string, (value: TemplateValue) => string>> = Object.freeze({
  xml: xmlEscape,
  shell: shellQuote,
  json: jsonValue,
});

/** `{{prop "any.name"}}`: a property by its full name, whatever characters the name has. */
export const PROP_HELPER = 'prop';

/** Block helpers: `{{#if ssl}}...{{else}}...{{/if}}`, `{{#unless ...}}`. */
export const BLOCK_HELPERS: readonly string[] = Object.freeze(['if', 'unless']);

/** Every name a template may call, for messages. */
export const KNOWN_HELPERS: readonly string[] = Object.freeze([...Object.keys(FORMAT_HELPERS), PROP_HELPER, ...BLOCK_HELPERS]);

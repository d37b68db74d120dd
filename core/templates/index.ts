/** Strict config templates: see templates.ts for the rules and docs/templates.md for the syntax. */
export { compileTemplate, renderTemplate, listTemplateVariables, unresolvedVariables, checkTemplateVariables, TemplateError } from './templates.js';
export type { CompiledTemplate, TemplateSource, TemplateValues, TemplateVariable } from './templates.js';
export { BLOCK_HELPERS, FORMAT_HELPERS, KNOWN_HELPERS, PROP_HELPER, jsonValue, shellQuote, xmlEscape } from './helpers.js';
export type { TemplateValue } from './helpers.js';
export {
  INSTANCE_VARIABLES,
  LATE_BINDING_PREFIX,
  OUTPUT_VARIABLE_FIELDS,
  lateBindingSource,
  lateBindingValues,
  lateBindingVariableNames,
  outputVariable,
} from './late-bindings.js';
export type { LateBindingSource, OutputVariableField } from './late-bindings.js';
export { buildContentTemplate, checkContentVariable } from './content-builder.js';
export type { ContentRule } from './content-builder.js';

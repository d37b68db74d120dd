/**
 * Template variables that only a deployment can fill: where this instance runs and where each
 * connected output's peer is. They use the `ovab.` prefix, which property names may not use, so
 * they can never hide or be hidden by a property of the appliance.
 *
 * Handlebars has no loops here (values are single values), so a list (several addresses, the
 * instances behind an output) is one comma-separated value; the singular name gives the first.
 */
import type { LateBindings } from '../lifecycle-contract.js';
import type { TemplateValue } from './helpers.js';

export const LATE_BINDING_PREFIX = 'ovab.';

/** This instance: always bound at deployment (an address only when the host has one). */
export const INSTANCE_VARIABLES = Object.freeze({
  hostName: 'ovab.instance.hostName',
  address: 'ovab.instance.address',
  addresses: 'ovab.instance.addresses',
  index: 'ovab.instance.index',
} as const);

/** Fields of a connected output's peer: `ovab.output.<output>.<field>`. */
export const OUTPUT_VARIABLE_FIELDS = ['hostName', 'hostNames', 'address', 'addresses', 'port'] as const;
export type OutputVariableField = (typeof OUTPUT_VARIABLE_FIELDS)[number];

export function outputVariable(output: string, field: OutputVariableField): string {
  return `ovab.output.${output}.${field}`;
}

/** What a late-binding variable needs at deployment: nothing more (instance), or its output connected. */
export type LateBindingSource = { readonly kind: 'instance' } | { readonly kind: 'output'; readonly output: string; readonly field: OutputVariableField };

/** Which late binding `name` is for an appliance with these outputs; undefined when it is none. */
export function lateBindingSource(name: string, outputs: readonly string[]): LateBindingSource | undefined {
  if (!name.startsWith(LATE_BINDING_PREFIX)) return undefined;
  if ((Object.values(INSTANCE_VARIABLES) as string[]).includes(name)) return { kind: 'instance' };
  for (const output of outputs) {
    for (const field of OUTPUT_VARIABLE_FIELDS) if (name === outputVariable(output, field)) return { kind: 'output', output, field };
  }
  return undefined;
}

/** Every late-binding variable an appliance with these outputs may use (for messages). */
export function lateBindingVariableNames(outputs: readonly string[]): string[] {
  return [...Object.values(INSTANCE_VARIABLES), ...outputs.flatMap((o) => OUTPUT_VARIABLE_FIELDS.map((f) => outputVariable(o, f)))];
}

/**
 * The values of the late-binding variables for one instance. A value the deployment does not
 * know (no address, an output not connected) is left out, so a template using it fails as
 * any variable without a value does instead of printing an empty string.
 */
export function lateBindingValues(bindings: LateBindings): Map<string, TemplateValue> {
  const out = new Map<string, TemplateValue>();
  const list = (name: string, values: readonly (string | undefined)[], first: string) => {
    const present = values.filter((v): v is string => v !== undefined && v !== '');
    if (present.length === 0) return;
    out.set(first, present[0]!);
    out.set(name, present.join(','));
  };
  const { instance } = bindings;
  if (instance.hostName !== '') out.set(INSTANCE_VARIABLES.hostName, instance.hostName);
  list(INSTANCE_VARIABLES.addresses, instance.addresses, INSTANCE_VARIABLES.address);
  out.set(INSTANCE_VARIABLES.index, instance.index);
  for (const [output, peers] of Object.entries(bindings.outputs)) {
    list(outputVariable(output, 'hostNames'), peers.flatMap((p) => p.hostNames), outputVariable(output, 'hostName'));
    list(outputVariable(output, 'addresses'), peers.flatMap((p) => p.addresses), outputVariable(output, 'address'));
    const port = peers.find((p) => p.port !== undefined)?.port;
    if (port !== undefined) out.set(outputVariable(output, 'port'), port);
  }
  return out;
}

/**
 * External resources: placeholders in an assembly for something outside it (an LDAP
 * server, an existing database). No instance is created; they exist so an output has an
 * input to connect to and the user has somewhere to type the address.
 */
import { Input, type InputInit, type InputPlain, type Output } from './endpoints.js';
import { NamedList } from './named-list.js';
import { checkApplianceType, checkObjectName, EXTERNAL_TYPE_PREFIX } from './names.js';
import { asObject, readArray, readOptionalString, readString } from './plain.js';
import { adoptProperties, Property, readProperties, type PropertyInit, type PropertyPlain, type PropertySet } from './properties.js';
import { INSPECT } from './redaction.js';
import { label, within } from './where.js';

/** Type given to external resources when none is chosen. */
export const DEFAULT_EXTERNAL_TYPE = EXTERNAL_TYPE_PREFIX;

export interface ExternalResourceInit {
  readonly name: string;
  /** Must start with `External`; default `External`. */
  readonly type?: string;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
  /** Ports are optional here: nothing is deployed to listen on them. */
  readonly inputs?: readonly (Input | InputInit)[];
}

export interface ExternalResourcePlain {
  kind: 'externalResource';
  name: string;
  type: string;
  description: string;
  properties: PropertyPlain[];
  inputs: InputPlain[];
}

export class ExternalResource {
  readonly name: string;
  readonly type: string;
  readonly description: string;
  readonly properties: PropertySet;
  readonly #inputs = new NamedList<Input>('input', 'external resource');

  constructor(init: ExternalResourceInit) {
    const where = label('external resource', init.name);
    checkObjectName('external resource', init.name, where);
    this.name = init.name;
    this.type = init.type ?? DEFAULT_EXTERNAL_TYPE;
    checkApplianceType(this.type, { external: true, where });
    this.description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties, 'user');
    for (const i of init.inputs ?? []) this.addInput(i);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  get where(): string {
    return label('external resource', this.name);
  }

  get inputs(): readonly Input[] {
    return this.#inputs.list();
  }

  getInput(name: string): Input | undefined {
    return this.#inputs.get(name);
  }

  /** Users make external resources, so any actor may shape them. */
  addInput(input: Input | InputInit): Input {
    const i = within(this.where, () => (input instanceof Input ? input : new Input(input)));
    return this.#inputs.add(i, this.where);
  }

  removeInput(name: string): void {
    this.#inputs.require(name, 'ENDPOINT_UNKNOWN', this.where);
    this.#inputs.delete(name);
  }

  /**
   * A placeholder for what `output` connects to: one input named like the output, with
   * the output's protocol and its connection properties as user properties (values and
   * required flags kept), so the connection is compatible by construction.
   */
  static forOutput(name: string, output: Output, opts: { type?: string; description?: string } = {}): ExternalResource {
    const seeded = output.connectionProperties
      .list()
      .map((p) => new Property({ name: p.name, type: p.type, category: 'user', required: p.required, description: p.description, value: p.value }));
    return new ExternalResource({
      name,
      type: opts.type ?? DEFAULT_EXTERNAL_TYPE,
      description: opts.description ?? `stands in for what output "${output.name}" connects to`,
      inputs: [{ name: output.name, protocols: [output.protocol], properties: seeded }],
    });
  }

  toPlain(): ExternalResourcePlain {
    return {
      kind: 'externalResource',
      name: this.name,
      type: this.type,
      description: this.description,
      properties: this.properties.toPlain(),
      inputs: this.inputs.map((i) => i.toPlain()),
    };
  }

  toJSON(): ExternalResourcePlain {
    return { ...this.toPlain(), properties: this.properties.toJSON(), inputs: this.inputs.map((i) => i.toJSON()) };
  }

  toString(): string {
    return `external resource ${this.name} (${this.type})`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): ExternalResource {
    const o = asObject(value, 'external resource');
    const name = readString(o, 'name');
    const init = within(label('external resource', name), () => ({
      type: readString(o, 'type'),
      description: readOptionalString(o, 'description') ?? '',
      properties: readProperties(o, 'properties', undefined),
      inputs: readArray(o, 'inputs').map((i) => Input.fromPlain(i)),
    }));
    return new ExternalResource({ name, ...init });
  }
}

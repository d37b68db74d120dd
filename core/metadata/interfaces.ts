/**
 * Network interfaces (NICs). A physical interface may carry virtual ones (extra
 * addresses on the same card); virtual interfaces carry nothing. Every appliance has at
 * least one interface: when none is given, the default below is added.
 */
import { UserError } from '../errors.js';
import { checkPartName } from './names.js';
import { asObject, readEnum, readOptionalArray, readOptionalString, readString } from './plain.js';
import { adoptProperties, PropertySet, readProperties, type Property, type PropertyInit, type PropertyPlain } from './properties.js';
import { INSPECT } from './redaction.js';
import { label, within } from './where.js';

/** Name of the interface the framework adds to an appliance that has none (the first NIC on Linux). */
export const DEFAULT_INTERFACE_NAME = 'eth0';

export const INTERFACE_KINDS = ['physical', 'virtual'] as const;
export type InterfaceKind = (typeof INTERFACE_KINDS)[number];

export interface NetworkInterfaceInit {
  readonly name: string;
  /** Default `physical`. */
  readonly kind?: InterfaceKind;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
  /** Virtual interfaces on this physical one. */
  readonly children?: readonly (NetworkInterface | NetworkInterfaceInit)[];
}

export interface NetworkInterfacePlain {
  name: string;
  kind: InterfaceKind;
  description: string;
  properties: PropertyPlain[];
  children: NetworkInterfacePlain[];
}

/** Shape fixed at construction; properties stay editable. */
export class NetworkInterface {
  readonly name: string;
  readonly kind: InterfaceKind;
  readonly description: string;
  readonly properties: PropertySet;
  readonly children: readonly NetworkInterface[];

  constructor(init: NetworkInterfaceInit) {
    const where = label('interface', init.name);
    checkPartName('interface', init.name, where);
    this.name = init.name;
    this.kind = init.kind ?? 'physical';
    if (!(INTERFACE_KINDS as readonly string[]).includes(this.kind)) {
      throw new UserError('INTERFACE_INVALID', `interface kind "${this.kind}" must be physical or virtual`, { where });
    }
    this.description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties);
    const children = (init.children ?? []).map((c) => within(where, () => (c instanceof NetworkInterface ? c : new NetworkInterface({ kind: 'virtual', ...c }))));
    if (this.kind === 'virtual' && children.length > 0) {
      throw new UserError('INTERFACE_VIRTUAL_CHILDREN', `virtual interface "${this.name}" cannot have child interfaces; only physical interfaces carry virtual ones`, { where });
    }
    const seen = new Set<string>([this.name]);
    for (const c of children) {
      if (c.kind !== 'virtual') {
        throw new UserError('INTERFACE_INVALID', `child interface "${c.name}" must be virtual: a physical interface cannot sit under another`, { where });
      }
      if (seen.has(c.name)) throw new UserError('NAME_DUPLICATE', `interface name "${c.name}" is used twice`, { where });
      seen.add(c.name);
    }
    this.children = Object.freeze(children);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  /** This interface and its virtual children, parent first. */
  flatten(): NetworkInterface[] {
    return [this, ...this.children];
  }

  toPlain(): NetworkInterfacePlain {
    return {
      name: this.name,
      kind: this.kind,
      description: this.description,
      properties: this.properties.toPlain(),
      children: this.children.map((c) => c.toPlain()),
    };
  }

  toJSON(): NetworkInterfacePlain {
    return { ...this.toPlain(), properties: this.properties.toJSON(), children: this.children.map((c) => c.toJSON()) };
  }

  toString(): string {
    return `${this.kind} interface ${this.name}${this.children.length ? ` (+${this.children.map((c) => c.name).join(', ')})` : ''}`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): NetworkInterface {
    const o = asObject(value, 'interface');
    const name = readString(o, 'name');
    const where = label('interface', name);
    const init = within(where, () => ({
      kind: readEnum(o, 'kind', INTERFACE_KINDS),
      description: readOptionalString(o, 'description') ?? '',
      children: (readOptionalArray(o, 'children') ?? []).map((c) => NetworkInterface.fromPlain(c)),
    }));
    return new NetworkInterface({ name, ...init, properties: readProperties(o, 'properties', where) });
  }
}

/** The interface added to appliances that have none. */
export function defaultInterface(): NetworkInterface {
  return new NetworkInterface({ name: DEFAULT_INTERFACE_NAME, kind: 'physical', description: 'added by the framework' });
}

/**
 * Effective properties of one appliance at rehydration: the introspected metadata with every
 * later layer laid over it. Precedence, lowest first (PROPERTY_LAYERS): the introspected value,
 * the assembly's edits, the deployment plan, the late bindings. Pure: callers read the layers
 * from the catalog, the plan and the deployer and pass them in.
 *
 * Passwords reuse the metadata model's rules (properties.ts, redaction.ts): every printable
 * form masks them, and their clear text comes only from `revealPassword` or an explicit
 * `includePasswords` request, so a stray `${props}` or JSON dump cannot leak one.
 */
import { UserError } from '../errors.js';
import { Property, PropertySet, type PropertyType, type PropertyValue } from '../metadata/properties.js';
import { INSPECT, REDACTED } from '../metadata/redaction.js';
import { joinWhere, label, within } from '../metadata/where.js';

/** Where a value came from, lowest precedence first. */
export const PROPERTY_LAYERS = ['introspection', 'assembly', 'plan', 'lateBinding'] as const;
export type PropertyLayer = (typeof PROPERTY_LAYERS)[number];

const LAYER_LABELS: Readonly<Record<PropertyLayer, string>> = {
  introspection: 'introspected metadata',
  assembly: 'assembly',
  plan: 'deployment plan',
  lateBinding: 'late bindings',
};

/**
 * One override: `value` undefined means "this layer says nothing" (the lower value stays).
 * `Property` (from a PropertySet) and the plan's `PlanProperty` both fit.
 */
export interface PropertyOverride {
  readonly name: string;
  readonly value: string | undefined;
}

/** A late binding may also bring a property the metadata does not have (a peer's address). */
export interface LateBinding extends PropertyOverride {
  /** Type of a new property (default string); ignored when the metadata has the property. */
  readonly type?: PropertyType;
}

export interface PropertyLayers {
  /** The appliance's properties as introspected: they fix the names, types and categories. */
  readonly introspected: Iterable<Property>;
  /**
   * The appliance's properties as edited in the assembly. Users may add user properties there,
   * so names the metadata lacks are added; changes to system properties are refused.
   */
  readonly assembly?: Iterable<Property | PropertyOverride>;
  /** The plan's user property overrides; a name the properties lack is refused. */
  readonly plan?: Iterable<PropertyOverride>;
  /** What only deployment knows (host names, peers): set by the framework, may add properties. */
  readonly lateBindings?: Iterable<LateBinding>;
}

export interface EffectiveProperty {
  /** The property with its effective value (clear text in memory; masked when printed). */
  readonly property: Property;
  /** The highest layer that gave the value; `introspection` also for "no value at all". */
  readonly source: PropertyLayer;
}

/** A value typed as templates and plugins use it: number for int, boolean for boolean. */
export type EffectiveValue = PropertyValue;

export class EffectiveProperties implements Iterable<EffectiveProperty> {
  readonly owner: string | undefined;
  readonly #entries: ReadonlyMap<string, EffectiveProperty>;

  private constructor(owner: string | undefined, entries: Map<string, EffectiveProperty>) {
    this.owner = owner;
    this.#entries = entries;
    Object.freeze(this);
  }

  /**
   * Lays the layers over the introspected properties. Every value is checked against its
   * property's type; the error names the layer and the property (never a password's value).
   */
  static compute(layers: PropertyLayers, owner?: string): EffectiveProperties {
    const entries = new Map<string, EffectiveProperty>();
    for (const p of layers.introspected) entries.set(p.name, { property: p, source: 'introspection' });
    const where = (layer: PropertyLayer, name: string): string | undefined => joinWhere(owner, LAYER_LABELS[layer], label('property', name));

    for (const o of layers.assembly ?? []) {
      const current = entries.get(o.name);
      if (!current) {
        // A property the user added in the assembly: it arrives whole (type, category, value).
        const added = o instanceof Property ? o : within(joinWhere(owner, LAYER_LABELS.assembly), () => new Property({ name: o.name, value: o.value }));
        entries.set(o.name, { property: added, source: 'assembly' });
        continue;
      }
      if (o.value === undefined || o.value === current.property.value) continue;
      if (current.property.category === 'system') throw readOnly('assembly', o.name, where('assembly', o.name));
      entries.set(o.name, { property: retype(current.property, o.value, where('assembly', o.name)), source: 'assembly' });
    }

    for (const o of layers.plan ?? []) {
      const current = entries.get(o.name);
      if (!current) {
        throw new UserError('PROPERTY_UNKNOWN', `the deployment plan sets property "${o.name}", which the appliance does not have`, {
          where: where('plan', o.name),
          hint: 'remove it from the plan, or write the plan again with createDeploymentPlan',
        });
      }
      if (o.value === undefined) continue;
      if (current.property.category === 'system') throw readOnly('plan', o.name, where('plan', o.name));
      entries.set(o.name, { property: retype(current.property, o.value, where('plan', o.name)), source: 'plan' });
    }

    for (const b of layers.lateBindings ?? []) {
      const current = entries.get(b.name);
      if (b.value === undefined) continue;
      // The framework binds these, so system properties may change here (that is their purpose).
      const property = current
        ? retype(current.property, b.value, where('lateBinding', b.name))
        : within(joinWhere(owner, LAYER_LABELS.lateBinding), () => new Property({ name: b.name, type: b.type ?? 'string', category: 'system', value: b.value }));
      entries.set(b.name, { property, source: 'lateBinding' });
    }
    return new EffectiveProperties(owner, entries);
  }

  get size(): number {
    return this.#entries.size;
  }

  [Symbol.iterator](): Iterator<EffectiveProperty> {
    return this.#entries.values();
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  get(name: string): EffectiveProperty | undefined {
    return this.#entries.get(name);
  }

  /** Which layer the value came from. */
  source(name: string): PropertyLayer | undefined {
    return this.#entries.get(name)?.source;
  }

  /**
   * The value as a string; undefined for "no value". Passwords are refused here so that no
   * caller gets one without asking for it by name (revealPassword).
   */
  value(name: string): string | undefined {
    const p = this.#require(name).property;
    if (p.secret) {
      throw new UserError('PROPERTY_SECRET', `property "${name}" is a password; its value is only given by revealPassword()`, {
        where: joinWhere(this.owner, label('property', name)),
        hint: 'call revealPassword(name) where the clear text is really needed, and never log it',
      });
    }
    return p.value;
  }

  /** The clear text of a password property (the explicit request passwords need). */
  revealPassword(name: string): string | undefined {
    const p = this.#require(name).property;
    if (!p.secret) {
      throw new UserError('PROPERTY_NOT_SECRET', `property "${name}" is not a password (type ${p.type})`, {
        where: joinWhere(this.owner, label('property', name)),
        hint: 'use value(name)',
      });
    }
    return p.value;
  }

  /** Required properties still without a value, with the same rule as PropertySet.missingRequired. */
  missingRequired(): Property[] {
    return [...this.#entries.values()].map((e) => e.property).filter((p) => p.required && !p.hasValue);
  }

  /**
   * Name -> typed value of every property with a value, for templates. Passwords are left out
   * unless asked for: a product's own config file is the one place they belong.
   */
  values(opts: { includePasswords?: boolean } = {}): Map<string, EffectiveValue> {
    const out = new Map<string, EffectiveValue>();
    for (const [name, { property }] of this.#entries) {
      if (property.secret && !opts.includePasswords) continue;
      const v = property.typedValue;
      if (v !== undefined) out.set(name, v);
    }
    return out;
  }

  /** A PropertySet of the effective properties (e.g. to write the appliance with the plan applied). */
  toPropertySet(owner: string | undefined = this.owner): PropertySet {
    return new PropertySet(owner, [...this.#entries.values()].map((e) => e.property), 'framework');
  }

  /** Printable: values with their source; passwords masked. */
  toJSON(): { name: string; type: PropertyType; value?: string; source: PropertyLayer }[] {
    return [...this.#entries.values()].map(({ property: p, source }) => ({
      name: p.name,
      type: p.type,
      ...(p.value === undefined ? {} : { value: p.secret ? REDACTED : p.value }),
      source,
    }));
  }

  toString(): string {
    return [...this.#entries.values()].map(({ property, source }) => `${property.toString()} (${source})`).join(', ');
  }

  [INSPECT](): string {
    return `EffectiveProperties [ ${this.toString()} ]`;
  }

  #require(name: string): EffectiveProperty {
    const e = this.#entries.get(name);
    if (!e) {
      throw new UserError('PROPERTY_UNKNOWN', `there is no property "${name}"`, {
        where: joinWhere(this.owner, label('property', name)),
        hint: this.#entries.size ? `known properties: ${this.names().join(', ')}` : 'this appliance has no properties',
      });
    }
    return e;
  }
}

/** The same property with `value`, checked against its type; errors carry `where`. */
function retype(p: Property, value: string, where: string | undefined): Property {
  try {
    return p.withValue(value);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(err.code, err.message, { where, hint: err.hint, cause: err });
    throw err;
  }
}

function readOnly(layer: PropertyLayer, name: string, where: string | undefined): UserError {
  return new UserError('PROPERTY_READ_ONLY', `the ${LAYER_LABELS[layer]} changes system property "${name}", which is read-only`, {
    where,
    hint: 'only user properties can be overridden; system properties change only through late bindings',
  });
}

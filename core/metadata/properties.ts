/**
 * Properties: typed name/value pairs on assemblies, appliances, endpoints and interfaces.
 * Values are stored as canonical strings (that is how the catalog and the deployment plan
 * carry them) after being checked against the type; `undefined` means "no value yet",
 * which is different from the empty string.
 */
import { UserError } from '../errors.js';
import type { Actor } from './actor.js';
import { isPrivileged } from './actor.js';
import { checkFileRefUri } from './file-refs.js';
import { checkPropertyName } from './names.js';
import { asObject, readBoolean, readEnum, readOptionalString, readString, type PlainObject } from './plain.js';
import { INSPECT, REDACTED } from './redaction.js';
import { joinWhere, label, within } from './where.js';

export const PROPERTY_TYPES = ['string', 'int', 'boolean', 'password', 'fileRef'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const PROPERTY_CATEGORIES = ['user', 'system'] as const;
/** `user`: users may override; `system`: read-only for users. */
export type PropertyCategory = (typeof PROPERTY_CATEGORIES)[number];

/** What callers may pass as a value; it is turned into the canonical string for the type. */
export type PropertyInput = string | number | boolean;

/** Typed view of a value. */
export type PropertyValue = string | number | boolean;

export interface PropertyInit {
  readonly name: string;
  /** Default `string`. */
  readonly type?: PropertyType;
  /** Default `user`. */
  readonly category?: PropertyCategory;
  /** Default false. */
  readonly required?: boolean;
  /** Default empty. */
  readonly description?: string;
  /** Omit (or undefined) for "no initial value". */
  readonly value?: PropertyInput | undefined;
}

/** JSON-able form. `secret: true` marks values a serializer must encrypt (passwords). */
export interface PropertyPlain {
  name: string;
  type: PropertyType;
  category: PropertyCategory;
  required: boolean;
  description: string;
  value?: string;
  secret?: true;
}

/** Types whose values must be encrypted at rest and never shown. */
export function isSecretType(type: PropertyType): boolean {
  return type === 'password';
}

const INT = /^[+-]?\d+$/;

/** Canonical string for `input` as a value of `type`, or a PROPERTY_VALUE_INVALID error. */
/** The error for a value that does not fit its type (built only when one is found). */
function invalidValue(type: PropertyType, input: PropertyInput, rule: string, where: string | undefined): UserError {
  const shown = isSecretType(type) ? REDACTED : JSON.stringify(input);
  return new UserError('PROPERTY_VALUE_INVALID', `value ${shown} is not valid for type ${type}: ${rule}`, { where, hint: undefined });
}

export function normalizePropertyValue(type: PropertyType, input: PropertyInput, where?: string): string {
  switch (type) {
    case 'string':
    case 'password':
      return String(input);
    case 'int': {
      const n = typeof input === 'number' ? input : typeof input === 'string' && INT.test(input) ? Number(input) : NaN;
      if (!Number.isSafeInteger(n)) throw invalidValue(type, input, 'it must be a whole number (e.g. 8080)', where);
      return String(n);
    }
    case 'boolean': {
      if (typeof input === 'boolean') return String(input);
      if (input === 'true' || input === 'false') return input;
      throw invalidValue(type, input, 'it must be true or false', where);
    }
    case 'fileRef': {
      if (typeof input !== 'string') throw invalidValue(type, input, 'it must be a URI string', where);
      checkFileRefUri(input, where);
      return input;
    }
  }
}

/**
 * One property. Immutable: changing the value gives a new Property, so a PropertySet can
 * check the change before it takes effect.
 */
export class Property {
  readonly name: string;
  readonly type: PropertyType;
  readonly category: PropertyCategory;
  readonly required: boolean;
  readonly description: string;
  readonly #value: string | undefined;

  /** Checks the name's characters and the value; reserved prefixes are checked by PropertySet (it knows the actor). */
  constructor(init: PropertyInit) {
    const where = label('property', init.name);
    checkPropertyName(init.name, { allowReserved: true, where });
    this.name = init.name;
    this.type = init.type ?? 'string';
    if (!(PROPERTY_TYPES as readonly string[]).includes(this.type)) {
      throw new UserError('PROPERTY_TYPE_INVALID', `property type "${this.type}" is unknown (known: ${PROPERTY_TYPES.join(', ')})`, { where });
    }
    this.category = init.category ?? 'user';
    if (!(PROPERTY_CATEGORIES as readonly string[]).includes(this.category)) {
      throw new UserError('PROPERTY_CATEGORY_INVALID', `property category "${this.category}" must be user or system`, { where });
    }
    this.required = init.required ?? false;
    this.description = init.description ?? '';
    this.#value = init.value === undefined ? undefined : normalizePropertyValue(this.type, init.value, where);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  /** The value as stored (clear text for passwords: the model keeps them in memory). */
  get value(): string | undefined {
    return this.#value;
  }

  get hasValue(): boolean {
    return this.#value !== undefined;
  }

  /** True for passwords: serializers encrypt these, displays mask them. */
  get secret(): boolean {
    return isSecretType(this.type);
  }

  /** The value converted to its type: number for int, boolean for boolean, string otherwise. */
  get typedValue(): PropertyValue | undefined {
    const v = this.#value;
    if (v === undefined) return undefined;
    if (this.type === 'int') return Number(v);
    if (this.type === 'boolean') return v === 'true';
    return v;
  }

  /** Same property with another value (`undefined` clears it). */
  withValue(value: PropertyInput | undefined): Property {
    return new Property({ ...this.#init(), value });
  }

  #init(): PropertyInit {
    return { name: this.name, type: this.type, category: this.category, required: this.required, description: this.description, value: this.#value };
  }

  /** Plain form including the clear-text password; `secret` flags it for encryption. */
  toPlain(): PropertyPlain {
    const plain: PropertyPlain = {
      name: this.name,
      type: this.type,
      category: this.category,
      required: this.required,
      description: this.description,
    };
    if (this.#value !== undefined) plain.value = this.#value;
    if (this.secret) plain.secret = true;
    return plain;
  }

  static fromPlain(value: unknown): Property {
    const o = asObject(value, 'property', undefined);
    const name = readString(o, 'name');
    const init = within(label('property', name), (): PropertyInit => {
      const type = readEnum(o, 'type', PROPERTY_TYPES);
      const secret = o['secret'];
      if (secret !== undefined && secret !== true) throw new UserError('METADATA_INVALID', 'field "secret" must be true when present');
      if ((secret === true) !== isSecretType(type)) {
        throw new UserError('METADATA_INVALID', `field "secret" must be present exactly for password properties (type is ${type})`);
      }
      return {
        name,
        type,
        category: readEnum(o, 'category', PROPERTY_CATEGORIES),
        required: readBoolean(o, 'required'),
        description: readOptionalString(o, 'description') ?? '',
        value: readOptionalString(o, 'value'),
      };
    });
    return new Property(init);
  }

  /** Plain form safe to print: password values masked. */
  toJSON(): PropertyPlain {
    const plain = this.toPlain();
    if (this.secret && plain.value !== undefined) plain.value = REDACTED;
    return plain;
  }

  /** `name = value`, `name (no value)`; passwords show the mask. */
  toString(): string {
    if (this.#value === undefined) return `${this.name} (no value)`;
    return `${this.name} = ${this.secret ? REDACTED : this.#value}`;
  }

  [INSPECT](): string {
    return `Property { ${this.toString()} [${this.type}, ${this.category}${this.required ? ', required' : ''}] }`;
  }
}

/**
 * Ordered properties with unique names. Edits name an actor: users may not change system
 * properties (nor fileRef values, which only the deployment plan overrides); only the
 * framework may use reserved names.
 */
export class PropertySet implements Iterable<Property> {
  /** Label of the owning object (e.g. `appliance "web"`), put in front of error locations. */
  readonly owner: string | undefined;
  readonly #props = new Map<string, Property>();

  constructor(owner?: string, initial: Iterable<Property | PropertyInit> = [], actor: Actor = 'plugin') {
    this.owner = owner;
    for (const p of initial) this.add(p, actor);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  #where(name: string): string | undefined {
    return joinWhere(this.owner, label('property', name));
  }

  get size(): number {
    return this.#props.size;
  }

  [Symbol.iterator](): Iterator<Property> {
    return this.#props.values();
  }

  has(name: string): boolean {
    return this.#props.has(name);
  }

  get(name: string): Property | undefined {
    return this.#props.get(name);
  }

  /** Like get, but a missing property is a PROPERTY_UNKNOWN error. */
  require(name: string): Property {
    const p = this.#props.get(name);
    if (!p) {
      throw new UserError('PROPERTY_UNKNOWN', `there is no property "${name}"`, {
        where: joinWhere(this.owner, label('property', name)),
        hint: this.#props.size ? `known properties: ${[...this.#props.keys()].join(', ')}` : 'this object has no properties',
      });
    }
    return p;
  }

  /** Stored value, or undefined when the property is missing or has no value. */
  getValue(name: string): string | undefined {
    return this.#props.get(name)?.value;
  }

  list(): Property[] {
    return [...this.#props.values()];
  }

  names(): string[] {
    return [...this.#props.keys()];
  }

  /** Adds a new property. Users may add user properties only; reserved names are the framework's. */
  add(property: Property | PropertyInit, actor: Actor): Property {
    const p = property instanceof Property ? property : within(this.owner, () => new Property(property));
    if (actor !== 'framework') checkPropertyName(p.name, { where: this.#where(p.name) });
    if (this.#props.has(p.name)) {
      throw new UserError('PROPERTY_DUPLICATE', `property "${p.name}" already exists; property names are unique per object`, { where: this.#where(p.name) });
    }
    if (actor === 'user' && p.category === 'system') {
      throw new UserError('PROPERTY_READ_ONLY', `users cannot add system property "${p.name}": system properties are set by plugins`, {
        where: this.#where(p.name),
        hint: 'add it as a user property',
      });
    }
    this.#props.set(p.name, p);
    return p;
  }

  #checkEditable(p: Property, actor: Actor, verb: string): void {
    if (isPrivileged(actor)) return;
    const where = this.#where(p.name);
    if (p.category === 'system') {
      throw new UserError('PROPERTY_READ_ONLY', `cannot ${verb} system property "${p.name}": system properties are read-only for users`, {
        where,
        hint: 'only user properties can be overridden',
      });
    }
    if (p.type === 'fileRef' && verb !== 'remove') {
      throw new UserError('PROPERTY_READ_ONLY', `cannot ${verb} fileRef property "${p.name}" in the metadata`, {
        where,
        hint: 'give the file in the deployment plan instead',
      });
    }
  }

  /** Sets a value (checked against the type). */
  set(name: string, value: PropertyInput, actor: Actor): Property {
    const current = this.require(name);
    this.#checkEditable(current, actor, 'change');
    const next = within(this.owner, () => current.withValue(value));
    this.#props.set(name, next);
    return next;
  }

  /** Clears the value back to "no value" (not the empty string). */
  unset(name: string, actor: Actor): Property {
    const current = this.require(name);
    this.#checkEditable(current, actor, 'unset');
    const next = current.withValue(undefined);
    this.#props.set(name, next);
    return next;
  }

  /** Removes the property entirely. */
  remove(name: string, actor: Actor): void {
    const current = this.require(name);
    this.#checkEditable(current, actor, 'remove');
    this.#props.delete(name);
  }

  /** Properties of group `prefix`: names starting with `prefix.` (e.g. `db` gives `db.host`, `db.port`). */
  group(prefix: string): Property[] {
    const start = prefix.endsWith('.') ? prefix : `${prefix}.`;
    return this.list().filter((p) => p.name.startsWith(start));
  }

  /** Properties by their first name segment (`db.host` is in group `db`); names without a dot are under "". */
  groups(): Map<string, Property[]> {
    const out = new Map<string, Property[]>();
    for (const p of this.#props.values()) {
      const dot = p.name.indexOf('.');
      const key = dot > 0 ? p.name.slice(0, dot) : '';
      const list = out.get(key);
      if (list) list.push(p);
      else out.set(key, [p]);
    }
    return out;
  }

  /** Required properties without a value; an empty string counts as none (it would deploy empty). */
  missingRequired(): Property[] {
    return this.list().filter((p) => p.required && (!p.hasValue || p.value === ''));
  }

  /** Independent copy (properties are immutable, so sharing them is safe). */
  copy(owner: string | undefined = this.owner): PropertySet {
    // Every property here passed add() already, and adding them as the framework checks
    // nothing more (names unique, no actor rules): cloning the map is the same result.
    const out = new PropertySet(owner);
    for (const [k, v] of this.#props) out.#props.set(k, v);
    return out;
  }

  toPlain(): PropertyPlain[] {
    return this.list().map((p) => p.toPlain());
  }

  toJSON(): PropertyPlain[] {
    return this.list().map((p) => p.toJSON());
  }

  toString(): string {
    return this.list().map((p) => p.toString()).join(', ');
  }

  [INSPECT](): string {
    return `PropertySet [ ${this.toString()} ]`;
  }

  /** Loads stored properties (as the framework: reserved names allowed) and re-checks them. */
  static fromPlain(value: unknown, owner?: string): PropertySet {
    return within(owner, () => {
      if (!Array.isArray(value)) throw new UserError('METADATA_INVALID', 'properties must be a list');
      const set = new PropertySet(undefined, [], 'framework');
      for (const item of value) set.add(Property.fromPlain(item), 'framework');
      return set.copy(owner);
    });
  }
}

/**
 * Properties for a new object: a PropertySet given by the caller was checked when it was
 * built, so it is adopted (copied under the new owner); anything else is added as `actor`.
 */
export function adoptProperties(owner: string, given: Iterable<Property | PropertyInit> | undefined, actor: Actor = 'plugin'): PropertySet {
  if (given instanceof PropertySet) return given.copy(owner);
  return new PropertySet(owner, given ?? [], actor);
}

/** Reads an optional `properties` list from a plain object. */
export function readProperties(o: PlainObject, key: string, owner: string | undefined): PropertySet {
  const v = o[key];
  return v === undefined ? new PropertySet(owner) : PropertySet.fromPlain(v, owner);
}

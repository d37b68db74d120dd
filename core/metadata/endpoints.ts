/**
 * Network endpoints. An input is where an appliance accepts connections (port,
 * protocols, the interface it listens on); an output is where it connects to (one
 * protocol, plus connection properties that say what a matching input must offer).
 */
import { UserError } from '../errors.js';
import { DEFAULT_INTERFACE_NAME } from './interfaces.js';
import { checkPartName } from './names.js';
import { asObject, readOptionalNumber, readOptionalString, readString, readStringArray } from './plain.js';
import { adoptProperties, PropertySet, readProperties, type PropertyInit, type PropertyPlain, type Property } from './properties.js';
import { INSPECT } from './redaction.js';
import { label, within } from './where.js';

const PROTOCOL = /^\S+$/;

function checkProtocol(protocol: string, where: string): void {
  if (!PROTOCOL.test(protocol)) {
    throw new UserError('ENDPOINT_PROTOCOL_INVALID', `protocol "${protocol}" must be a non-empty word without spaces (e.g. HTTP, JDBC, LDAP)`, { where });
  }
}

export interface InputInit {
  readonly name: string;
  /**
   * TCP/UDP port, 1..65535. Appliances require it; external resources may leave it out
   * (nothing listens on their behalf, the user gives the address in properties).
   */
  readonly port?: number | undefined;
  /**
   * Name of the appliance property the port is configured by (e.g. `port`), when there is
   * one: a deployment plan that changes that property moves the input with it, so peers and
   * the deployment record see the port the product really listens on (see effectivePort).
   */
  readonly portProperty?: string | undefined;
  /** At least one; no duplicates. */
  readonly protocols: readonly string[];
  /** Interface the input listens on; default `eth0` (the default interface). */
  readonly interfaceName?: string;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
}

export interface InputPlain {
  name: string;
  port?: number;
  portProperty?: string;
  protocols: string[];
  interfaceName: string;
  description: string;
  properties: PropertyPlain[];
}

export class Input {
  readonly name: string;
  readonly port: number | undefined;
  readonly portProperty: string | undefined;
  readonly protocols: readonly string[];
  readonly interfaceName: string;
  readonly description: string;
  readonly properties: PropertySet;

  constructor(init: InputInit) {
    const where = label('input', init.name);
    checkPartName('input', init.name, where);
    this.name = init.name;
    if (init.port !== undefined && (!Number.isInteger(init.port) || init.port < 1 || init.port > 65535)) {
      throw new UserError('ENDPOINT_PORT_INVALID', `input port ${init.port} is out of range: ports are whole numbers from 1 to 65535`, { where });
    }
    this.port = init.port;
    if (init.portProperty !== undefined && (typeof init.portProperty !== 'string' || init.portProperty.trim() === '')) {
      throw new UserError('ENDPOINT_PORT_INVALID', 'input portProperty must name a property (e.g. "port")', { where });
    }
    this.portProperty = init.portProperty;
    if (init.protocols.length === 0) {
      throw new UserError('ENDPOINT_PROTOCOL_INVALID', 'input protocols must list at least one protocol', { where, hint: 'e.g. ["HTTP"]' });
    }
    const seen = new Set<string>();
    for (const p of init.protocols) {
      checkProtocol(p, where);
      if (seen.has(p)) throw new UserError('ENDPOINT_PROTOCOL_INVALID', `input protocol "${p}" is listed twice`, { where });
      seen.add(p);
    }
    this.protocols = Object.freeze([...init.protocols]);
    this.interfaceName = init.interfaceName ?? DEFAULT_INTERFACE_NAME;
    checkPartName('interface', this.interfaceName, where);
    this.description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  toPlain(): InputPlain {
    const plain: InputPlain = {
      name: this.name,
      protocols: [...this.protocols],
      interfaceName: this.interfaceName,
      description: this.description,
      properties: this.properties.toPlain(),
    };
    if (this.port !== undefined) plain.port = this.port;
    if (this.portProperty !== undefined) plain.portProperty = this.portProperty;
    return plain;
  }

  toJSON(): InputPlain {
    return { ...this.toPlain(), properties: this.properties.toJSON() };
  }

  toString(): string {
    return `input ${this.name} (${this.protocols.join('/')}${this.port === undefined ? '' : ` port ${this.port}`} on ${this.interfaceName})`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): Input {
    const o = asObject(value, 'input');
    const name = readString(o, 'name');
    const where = label('input', name);
    const init = within(where, (): InputInit => ({
      name,
      port: readOptionalNumber(o, 'port'),
      portProperty: readOptionalString(o, 'portProperty'),
      protocols: readStringArray(o, 'protocols'),
      interfaceName: readString(o, 'interfaceName'),
      description: readOptionalString(o, 'description') ?? '',
    }));
    const properties = readProperties(o, 'properties', where);
    return new Input({ ...init, properties });
  }
}

/**
 * The port an input listens on once property values are known: the value of its
 * `portProperty` (looked up with `valueOf`, e.g. the effective properties of a deployment)
 * when it names one with a value, else the port recorded at introspection.
 */
export function effectivePort(input: Input, valueOf: (property: string) => string | undefined, where?: string): number | undefined {
  if (input.portProperty === undefined) return input.port;
  const raw = valueOf(input.portProperty);
  if (raw === undefined || raw === '') return input.port;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 65535) {
    throw new UserError('ENDPOINT_PORT_INVALID', `property "${input.portProperty}" gives input "${input.name}" the port "${raw}", which is not a whole number from 1 to 65535`, {
      ...(where ? { where } : {}),
      hint: `set "${input.portProperty}" to a port number (in the assembly or the deployment plan)`,
    });
  }
  return n;
}

export interface OutputInit {
  readonly name: string;
  /** Exactly one protocol. */
  readonly protocol: string;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
  /** What a compatible input must offer (by property name); also seeds external resources. */
  readonly connectionProperties?: Iterable<Property | PropertyInit>;
}

export interface OutputPlain {
  name: string;
  protocol: string;
  description: string;
  properties: PropertyPlain[];
  connectionProperties: PropertyPlain[];
}

export class Output {
  readonly name: string;
  readonly protocol: string;
  readonly description: string;
  readonly properties: PropertySet;
  readonly connectionProperties: PropertySet;

  constructor(init: OutputInit) {
    const where = label('output', init.name);
    checkPartName('output', init.name, where);
    this.name = init.name;
    if (typeof init.protocol !== 'string') {
      throw new UserError('ENDPOINT_PROTOCOL_INVALID', 'an output has exactly one protocol (a single string)', { where });
    }
    checkProtocol(init.protocol, where);
    this.protocol = init.protocol;
    this.description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties);
    this.connectionProperties = adoptProperties(`${where} connection`, init.connectionProperties);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  toPlain(): OutputPlain {
    return {
      name: this.name,
      protocol: this.protocol,
      description: this.description,
      properties: this.properties.toPlain(),
      connectionProperties: this.connectionProperties.toPlain(),
    };
  }

  toJSON(): OutputPlain {
    return { ...this.toPlain(), properties: this.properties.toJSON(), connectionProperties: this.connectionProperties.toJSON() };
  }

  toString(): string {
    return `output ${this.name} (${this.protocol})`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): Output {
    const o = asObject(value, 'output');
    const name = readString(o, 'name');
    const where = label('output', name);
    const init = within(where, () => ({
      name,
      protocol: readString(o, 'protocol'),
      description: readOptionalString(o, 'description') ?? '',
    }));
    return new Output({
      ...init,
      properties: readProperties(o, 'properties', where),
      connectionProperties: readProperties(o, 'connectionProperties', `${where} connection`),
    });
  }
}

/** Result of `checkCompatible`. */
export interface Compatibility {
  readonly compatible: boolean;
  /** Connection-property names of the output that the input lacks. */
  readonly missing: readonly string[];
  /** One sentence for people. */
  readonly explanation: string;
}

/** What checkCompatible needs from an input (appliance inputs and external resource inputs alike). */
export interface InputLike {
  readonly name: string;
  readonly properties: PropertySet;
}

/**
 * Compatible when every connection-property name of the output is also a property name
 * of the input. Protocols are not compared: the rule is about the properties the output
 * needs to learn from the input at deployment.
 */
export function checkCompatible(output: Output, input: InputLike): Compatibility {
  const missing = output.connectionProperties.names().filter((n) => !input.properties.has(n));
  const explanation =
    missing.length === 0
      ? output.connectionProperties.size === 0
        ? `output "${output.name}" has no connection properties, so any input is compatible`
        : `input "${input.name}" has every connection property output "${output.name}" needs (${output.connectionProperties.names().join(', ')})`
      : `input "${input.name}" lacks connection propert${missing.length === 1 ? 'y' : 'ies'} ${missing.map((m) => `"${m}"`).join(', ')} that output "${output.name}" needs`;
  return { compatible: missing.length === 0, missing, explanation };
}

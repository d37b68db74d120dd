/**
 * Virtual networks of a (non-atomic) assembly. Each gets a default one so interfaces
 * always have something to attach to; users add more.
 */
import { isIP } from 'node:net';
import { UserError } from '../errors.js';
import { checkPartName } from './names.js';
import { asObject, readOptionalString, readString } from './plain.js';
import { label } from './where.js';

export const DEFAULT_VNET_NAME = 'default';

export interface VnetInit {
  readonly name: string;
  /** `10.0.0.0/24` or an IPv6 prefix; optional. */
  readonly cidr?: string | undefined;
}

export interface VnetPlain {
  name: string;
  cidr?: string;
}

export class Vnet {
  readonly name: string;
  readonly cidr: string | undefined;

  constructor(init: VnetInit) {
    const where = label('vnet', init.name);
    checkPartName('vnet', init.name, where);
    this.name = init.name;
    if (init.cidr !== undefined) checkCidr(init.cidr, where);
    this.cidr = init.cidr;
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  toPlain(): VnetPlain {
    return this.cidr === undefined ? { name: this.name } : { name: this.name, cidr: this.cidr };
  }

  toJSON(): VnetPlain {
    return this.toPlain();
  }

  toString(): string {
    return `vnet ${this.name}${this.cidr ? ` (${this.cidr})` : ''}`;
  }

  static fromPlain(value: unknown): Vnet {
    const o = asObject(value, 'vnet');
    return new Vnet({ name: readString(o, 'name'), cidr: readOptionalString(o, 'cidr') });
  }
}

function checkCidr(cidr: string, where: string): void {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? isIP(m[1] ?? '') : 0;
  const bits = m ? Number(m[2]) : NaN;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new UserError('VNET_INVALID', `vnet CIDR "${cidr}" must be an address and prefix length, e.g. 10.0.0.0/24`, { where });
  }
}

/**
 * Connections (output -> input) and the references that name their ends. A reference is
 * a member path plus an endpoint name, written with `/` between parts (`web/jdbc`,
 * `tier/db/sql` for an appliance inside member `tier`). `/` is used rather than `.`
 * because `.` is legal inside names; `/` is not, so the text form is never ambiguous.
 */
import { UserError } from '../errors.js';
import { checkCompatible, type Input, type Output } from './endpoints.js';
import { checkPartName } from './names.js';

export const REF_SEPARATOR = '/';

export interface EndpointRef {
  /** Member names from the assembly holding the connection down to the appliance or external resource. */
  readonly path: readonly string[];
  /** Output or input name on that member. */
  readonly endpoint: string;
}

export interface Connection {
  /** An output. */
  readonly from: EndpointRef;
  /** An input. */
  readonly to: EndpointRef;
}

/** Text form of a connection: `{ from: "web/jdbc", to: "db/sql" }`. */
export interface ConnectionPlain {
  from: string;
  to: string;
}

export function parseEndpointRef(text: string, where?: string): EndpointRef {
  const parts = text.split(REF_SEPARATOR);
  if (parts.length < 2) {
    throw new UserError('CONNECTION_REF_INVALID', `endpoint reference "${text}" must be member${REF_SEPARATOR}endpoint (e.g. web${REF_SEPARATOR}http)`, { where });
  }
  for (const p of parts) {
    if (p === '') throw new UserError('CONNECTION_REF_INVALID', `endpoint reference "${text}" has an empty part`, { where });
    checkPartName('endpoint reference part', p, where);
  }
  const endpoint = parts.pop() as string;
  return Object.freeze({ path: Object.freeze(parts), endpoint });
}

export function formatEndpointRef(ref: EndpointRef): string {
  return [...ref.path, ref.endpoint].join(REF_SEPARATOR);
}

/** Accepts either form. */
export function toEndpointRef(ref: EndpointRef | string, where?: string): EndpointRef {
  if (typeof ref === 'string') return parseEndpointRef(ref, where);
  return parseEndpointRef(formatEndpointRef(ref), where);
}

export function sameRef(a: EndpointRef, b: EndpointRef): boolean {
  return formatEndpointRef(a) === formatEndpointRef(b);
}

export function connectionToPlain(c: Connection): ConnectionPlain {
  return { from: formatEndpointRef(c.from), to: formatEndpointRef(c.to) };
}

/** Structural view of members, so resolution does not depend on the concrete classes. */
export interface EndpointHolder {
  readonly name: string;
  getInput(name: string): Input | undefined;
  getOutput?(name: string): Output | undefined;
}

export interface MemberContainer {
  readonly name: string;
  getMember(name: string): EndpointHolder | MemberContainer | undefined;
}

function isContainer(node: EndpointHolder | MemberContainer): node is MemberContainer {
  return typeof (node as MemberContainer).getMember === 'function';
}

function resolveHolder(root: MemberContainer, ref: EndpointRef, where: string | undefined): EndpointHolder {
  let container: MemberContainer = root;
  let node: EndpointHolder | MemberContainer | undefined;
  ref.path.forEach((segment, i) => {
    node = container.getMember(segment);
    const text = formatEndpointRef(ref);
    if (node === undefined) {
      throw new UserError('CONNECTION_ENDPOINT_UNKNOWN', `endpoint "${text}": "${container.name}" has no member "${segment}"`, { where });
    }
    const last = i === ref.path.length - 1;
    if (!last) {
      if (!isContainer(node)) {
        throw new UserError('CONNECTION_ENDPOINT_UNKNOWN', `endpoint "${text}": member "${segment}" is not an assembly, so the path cannot go into it`, { where });
      }
      container = node;
    } else if (isContainer(node)) {
      throw new UserError('CONNECTION_ENDPOINT_UNKNOWN', `endpoint "${text}": member "${segment}" is an assembly; name the appliance inside it`, {
        where,
        hint: `e.g. ${[...ref.path, '<appliance>', ref.endpoint].join(REF_SEPARATOR)}`,
      });
    }
  });
  return node as unknown as EndpointHolder;
}

export function resolveOutput(root: MemberContainer, ref: EndpointRef, where?: string): Output {
  const holder = resolveHolder(root, ref, where);
  const out = holder.getOutput?.(ref.endpoint);
  if (!out) {
    throw new UserError('CONNECTION_ENDPOINT_UNKNOWN', `"${holder.name}" has no output "${ref.endpoint}" (connections start at an output)`, { where });
  }
  return out;
}

export function resolveInput(root: MemberContainer, ref: EndpointRef, where?: string): Input {
  const holder = resolveHolder(root, ref, where);
  const inp = holder.getInput(ref.endpoint);
  if (!inp) {
    throw new UserError('CONNECTION_ENDPOINT_UNKNOWN', `"${holder.name}" has no input "${ref.endpoint}" (connections end at an input)`, { where });
  }
  return inp;
}

/**
 * Checks both ends exist and are compatible, and that the output is not already
 * connected (an output goes to one place; an input may take many connections).
 */
export function checkConnection(root: MemberContainer, c: Connection, existing: readonly Connection[], where?: string): void {
  const output = resolveOutput(root, c.from, where);
  const input = resolveInput(root, c.to, where);
  const taken = existing.find((e) => sameRef(e.from, c.from));
  if (taken) {
    throw new UserError('CONNECTION_OUTPUT_IN_USE', `output "${formatEndpointRef(c.from)}" is already connected to "${formatEndpointRef(taken.to)}"`, {
      where,
      hint: 'disconnect it first',
    });
  }
  const compat = checkCompatible(output, input);
  if (!compat.compatible) {
    throw new UserError('CONNECTION_INCOMPATIBLE', `cannot connect "${formatEndpointRef(c.from)}" to "${formatEndpointRef(c.to)}": ${compat.explanation}`, {
      where,
      hint: 'connect to an input that has those properties, or to an external resource created for this output',
    });
  }
}

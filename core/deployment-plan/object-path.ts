/**
 * Object paths: how users name one object inside an assembly, in the CLI and in plan
 * messages. Member names are joined with `/` (a character names cannot contain), from
 * the assembly down: `web`, `tier/web`, `domain/admin`. Below an appliance or external
 * resource, `input/NAME`, `output/NAME` or `interface/NAME` names one of its endpoints or
 * interfaces: `tier/web/input/http`. The empty path is the assembly itself.
 *
 * The text is resolved by walking the model, so a member that happens to be called
 * `input` is still reachable: `input` only means "an input" right after an appliance.
 */
import { UserError } from '../errors.js';
import {
  Appliance,
  Assembly,
  AtomicAssembly,
  ExternalResource,
  type AssemblyMember,
  type PropertySet,
} from '../metadata/index.js';
import { KIND_LABELS, type PlanNodeKind } from './model.js';

export const PATH_SEPARATOR = '/';
export const PART_KINDS = ['input', 'output', 'interface'] as const;
export type PartKind = (typeof PART_KINDS)[number];

export interface ObjectPath {
  /** Member names from the assembly down (empty: the assembly itself). */
  readonly members: readonly string[];
  /** An endpoint or interface of the last member. */
  readonly part?: { readonly kind: PartKind; readonly name: string };
}

export function formatObjectPath(p: ObjectPath): string {
  const parts = [...p.members];
  if (p.part) parts.push(p.part.kind, p.part.name);
  return parts.join(PATH_SEPARATOR);
}

/** What a path points at: its kind, a `where` label chain, and its properties. */
export interface ResolvedObject {
  readonly kind: PlanNodeKind;
  readonly name: string;
  readonly path: ObjectPath;
  /** `assembly "A" > appliance "web" > input "http"`, as the model writes locations. */
  readonly where: string;
  readonly properties: PropertySet;
  /** The member that holds it (for parts) or the object itself. */
  readonly holder: Assembly | AssemblyMember;
}

function kindOf(m: Assembly | AssemblyMember): PlanNodeKind {
  if (m instanceof Appliance) return 'appliance';
  if (m instanceof AtomicAssembly) return 'atomicAssembly';
  if (m instanceof ExternalResource) return 'externalResource';
  return 'assembly';
}

function labelOf(kind: PlanNodeKind, name: string): string {
  return `${KIND_LABELS[kind]} "${name}"`;
}

function pathError(text: string, message: string, where: string, hint?: string): UserError {
  return new UserError('OBJECT_PATH_INVALID', `path "${text}": ${message}`, {
    where,
    hint: hint ?? 'paths are member names joined by /, then optionally input/NAME, output/NAME or interface/NAME (e.g. tier/web/input/http)',
  });
}

function memberNames(c: Assembly | AtomicAssembly): string[] {
  return c instanceof Assembly ? c.members.map((m) => m.name) : c.appliances.map((a) => a.name);
}

/**
 * Resolves `text` inside `root` (an assembly, or a single appliance or external resource
 * for paths like `input/http`). Errors name the part that did not resolve and list what
 * exists there.
 */
export function resolveObjectPath(root: Assembly | AssemblyMember, text: string): ResolvedObject {
  const segments = text === '' ? [] : text.split(PATH_SEPARATOR);
  let current: Assembly | AssemblyMember = root;
  let where = labelOf(kindOf(root), root.name);
  const members: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] ?? '';
    if (seg === '') throw pathError(text, 'has an empty part (two / in a row, or a / at either end)', where);
    if (current instanceof Assembly || current instanceof AtomicAssembly) {
      const next: AssemblyMember | undefined = current instanceof Assembly ? current.getMember(seg) : current.getAppliance(seg);
      if (!next) {
        const known = memberNames(current);
        throw pathError(text, `${labelOf(kindOf(current), current.name)} has no member "${seg}"`, where, known.length ? `its members: ${known.join(', ')}` : 'it has no members');
      }
      current = next;
      members.push(seg);
      where = `${where} > ${labelOf(kindOf(current), current.name)}`;
      continue;
    }
    // Below an appliance or external resource: kind then name, and nothing after.
    const holder: Appliance | ExternalResource = current;
    const kind = seg as PartKind;
    const name = segments[i + 1];
    const allowed: readonly PartKind[] = holder instanceof Appliance ? PART_KINDS : ['input'];
    if (!allowed.includes(kind)) {
      throw pathError(text, `after ${labelOf(kindOf(holder), holder.name)} comes ${allowed.map((k) => `${k}/NAME`).join(', ')}, not "${seg}"`, where);
    }
    if (name === undefined || name === '') throw pathError(text, `"${seg}" must be followed by the ${seg} name`, where);
    if (i + 2 < segments.length) throw pathError(text, `nothing can follow ${seg}/${name}`, where);
    let props: PropertySet | undefined;
    let known: string[];
    if (kind === 'input') {
      props = holder.getInput(name)?.properties;
      known = holder.inputs.map((x) => x.name);
    } else if (kind === 'output' && holder instanceof Appliance) {
      props = holder.getOutput(name)?.properties;
      known = holder.outputs.map((x) => x.name);
    } else {
      const app = holder as Appliance;
      props = app.findInterface(name)?.properties;
      known = app.interfaces.flatMap((x) => x.flatten().map((f) => f.name));
    }
    if (!props) {
      throw pathError(text, `${labelOf(kindOf(holder), holder.name)} has no ${kind} "${name}"`, where, known.length ? `its ${kind}s: ${known.join(', ')}` : `it has no ${kind}s`);
    }
    return { kind, name, path: { members, part: { kind, name } }, where: `${where} > ${labelOf(kind, name)}`, properties: props, holder };
  }
  return { kind: kindOf(current), name: current.name, path: { members }, where, properties: current.properties, holder: current };
}

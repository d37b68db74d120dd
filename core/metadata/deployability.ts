/**
 * What must hold before an assembly can be deployed: it is a top-level, non-atomic
 * assembly, and every required property has a value (from the metadata or, through
 * `isProvided`, from the deployment plan).
 */
import { UserError } from '../errors.js';
import { Appliance } from './appliance.js';
import { Assembly, AtomicAssembly, type AssemblyMember } from './assembly.js';
import { ExternalResource } from './external-resource.js';
import type { PropertySet } from './properties.js';
import { label, WHERE_SEPARATOR } from './where.js';

export interface MissingProperty {
  /** Object path, e.g. `["assembly \"A\"", "appliance \"web\"", "input \"http\""]`. */
  readonly path: readonly string[];
  readonly property: string;
}

/** Human form: `assembly "A" > appliance "web" > property "db.password"`. */
export function describeMissing(m: MissingProperty): string {
  return [...m.path, label('property', m.property)].join(WHERE_SEPARATOR);
}

function collect(path: string[], set: PropertySet, out: MissingProperty[]): void {
  for (const p of set.missingRequired()) out.push({ path, property: p.name });
}

function visit(member: AssemblyMember | Assembly, path: string[], out: MissingProperty[]): void {
  if (member instanceof Assembly) {
    const here = [...path, label('assembly', member.name)];
    collect(here, member.properties, out);
    for (const m of member.members) visit(m, here, out);
  } else if (member instanceof AtomicAssembly) {
    const here = [...path, label('atomic assembly', member.name)];
    collect(here, member.properties, out);
    for (const a of member.appliances) visit(a, here, out);
  } else if (member instanceof Appliance) {
    const here = [...path, label('appliance', member.name)];
    collect(here, member.properties, out);
    for (const i of member.interfaces) for (const f of i.flatten()) collect([...here, label('interface', f.name)], f.properties, out);
    for (const i of member.inputs) collect([...here, label('input', i.name)], i.properties, out);
    for (const o of member.outputs) collect([...here, label('output', o.name)], o.properties, out);
  } else if (member instanceof ExternalResource) {
    const here = [...path, label('external resource', member.name)];
    collect(here, member.properties, out);
    for (const i of member.inputs) collect([...here, label('input', i.name)], i.properties, out);
  }
}

/** Every required property without a value, anywhere in the assembly. */
export function findMissingRequired(assembly: Assembly): MissingProperty[] {
  const out: MissingProperty[] = [];
  visit(assembly, [], out);
  return out;
}

/**
 * Throws NOT_DEPLOYABLE for anything but a non-empty assembly, and
 * REQUIRED_PROPERTIES_MISSING listing every required property still without a value.
 */
export function checkDeployable(
  target: Assembly | AtomicAssembly | Appliance | ExternalResource,
  opts: { isProvided?: (missing: MissingProperty) => boolean } = {},
): void {
  if (!(target instanceof Assembly)) {
    const kind = target instanceof Appliance ? 'appliance' : target instanceof AtomicAssembly ? 'atomic assembly' : 'external resource';
    throw new UserError('NOT_DEPLOYABLE', `${kind} "${target.name}" cannot be deployed on its own: only a top-level assembly (not atomic) can`, {
      where: label(kind, target.name),
      hint: `create an assembly, add "${target.name}" to it and deploy the assembly`,
    });
  }
  if (target.members.length === 0) {
    throw new UserError('NOT_DEPLOYABLE', `assembly "${target.name}" is empty: there is nothing to deploy`, { where: target.where });
  }
  const missing = findMissingRequired(target).filter((m) => !(opts.isProvided?.(m) ?? false));
  if (missing.length > 0) {
    throw new UserError('REQUIRED_PROPERTIES_MISSING', `${missing.length} required propert${missing.length === 1 ? 'y has' : 'ies have'} no value:\n  ${missing.map(describeMissing).join('\n  ')}`, {
      where: target.where,
      hint: 'give them values in the assembly or in the deployment plan',
    });
  }
}

/**
 * Changing a plan in memory (for `abctl setPlanPassword`): the value is checked against
 * the assembly's metadata first, so a plan is never given a value validation would refuse.
 */
import { UserError } from '../errors.js';
import { Appliance, Assembly, AtomicAssembly, ExternalResource, type AssemblyMember } from '../metadata/index.js';
import type { DeploymentPlan, PlanNode, PlanNodeKind, PlanProperty } from './model.js';
import { resolveObjectPath } from './object-path.js';

function kindOf(m: Assembly | AssemblyMember): PlanNodeKind {
  if (m instanceof Appliance) return 'appliance';
  if (m instanceof AtomicAssembly) return 'atomicAssembly';
  if (m instanceof ExternalResource) return 'externalResource';
  return 'assembly';
}

function emptyNode(kind: PlanNodeKind, name: string): PlanNode {
  return { kind, name, properties: [], fileRefs: [], children: [], synthetic: [], hosts: [], mountTargets: [] };
}

/** Returns `n` with the node at `steps` changed by `fn` (nodes along the way are created when missing). */
function updateAt(n: PlanNode, steps: readonly { kind: PlanNodeKind; name: string }[], fn: (n: PlanNode) => PlanNode): PlanNode {
  const [head, ...rest] = steps;
  if (!head) return fn(n);
  const i = n.children.findIndex((c) => c.kind === head.kind && c.name === head.name);
  const child = i >= 0 ? (n.children[i] as PlanNode) : emptyNode(head.kind, head.name);
  const next = updateAt(child, rest, fn);
  const children = [...n.children];
  if (i >= 0) children[i] = next;
  else children.push(next);
  return { ...n, children };
}

/**
 * Sets password property `property` of the object at `path` (see object-path.ts) to
 * `clear`. Refused unless the assembly has that property as a user password.
 */
export function setPlanPassword(plan: DeploymentPlan, assembly: Assembly, path: string, property: string, clear: string): DeploymentPlan {
  if (plan.assembly !== assembly.name) {
    throw new UserError('PLAN_ASSEMBLY_MISMATCH', `the plan is for assembly "${plan.assembly}", not "${assembly.name}"`, { where: plan.file, hint: `use --assembly ${plan.assembly}` });
  }
  const target = resolveObjectPath(assembly, path);
  const p = target.properties.require(property);
  const where = `${target.where} > property "${property}"`;
  if (p.category !== 'user') {
    throw new UserError('PROPERTY_READ_ONLY', `"${property}" is a system property and cannot be overridden in a plan`, { where, hint: 'only user properties can be overridden' });
  }
  if (p.type !== 'password') {
    throw new UserError('PROPERTY_TYPE_MISMATCH', `"${property}" is a ${p.type} property, not a password`, { where, hint: 'edit its value attribute in the plan file directly' });
  }
  // Kinds along the path come from the model, so the plan tree is built with the right element names.
  const steps: { kind: PlanNodeKind; name: string }[] = [];
  let current: Assembly | AssemblyMember = assembly;
  for (const name of target.path.members) {
    const next: AssemblyMember | undefined = current instanceof Assembly ? current.getMember(name) : current instanceof AtomicAssembly ? current.getAppliance(name) : undefined;
    if (!next) break;
    steps.push({ kind: kindOf(next), name });
    current = next;
  }
  if (target.path.part) steps.push({ kind: target.path.part.kind, name: target.path.part.name });
  const entry: PlanProperty = { name: p.name, type: p.type, required: p.required, description: p.description, value: clear };
  const root = updateAt(plan.root, steps, (n) => {
    const i = n.properties.findIndex((x) => x.name === property);
    const properties = [...n.properties];
    if (i >= 0) properties[i] = entry;
    else properties.push(entry);
    return { ...n, properties };
  });
  return { ...plan, root };
}

/**
 * Building the plan an assembly starts with: every user property with its current value,
 * fileRef properties (to be pointed at local files), instance counts at the scalability
 * target, synthetic properties at their defaults, one host placeholder per instance and
 * an empty mount target per NFS file set that takes its volume from the plan.
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
import {
  PLAN_FORMAT_VERSION,
  SYNTHETIC_PROPERTIES,
  type DeploymentPlan,
  type PlanFileRef,
  type PlanHost,
  type PlanMountTarget,
  type PlanNode,
  type PlanNodeKind,
  type PlanProperty,
  type PlanSynthetic,
} from './model.js';

/** What the plan builder may ask the catalog. */
export interface PlanLookup {
  /**
   * True when `name` is an assembly stored at the top of the catalog (only those are
   * deployable). Left out: the assembly given is taken to be top-level.
   */
  readonly isTopLevel?: (name: string) => boolean;
}

/** User properties as plan overrides; fileRef properties go to `fileRefs`, system ones are left out. */
export function planEntries(set: PropertySet): { properties: PlanProperty[]; fileRefs: PlanFileRef[] } {
  const properties: PlanProperty[] = [];
  const fileRefs: PlanFileRef[] = [];
  for (const p of set) {
    if (p.category !== 'user') continue;
    if (p.type === 'fileRef') {
      fileRefs.push({ name: p.name, required: p.required, description: p.description, current: p.value, file: undefined });
    } else {
      properties.push({ name: p.name, type: p.type, required: p.required, description: p.description, value: p.value });
    }
  }
  return { properties, fileRefs };
}

function node(kind: PlanNodeKind, name: string, set: PropertySet, children: PlanNode[], extra: Partial<PlanNode> = {}): PlanNode {
  return { kind, name, ...planEntries(set), children, synthetic: [], hosts: [], mountTargets: [], ...extra };
}

/** Leaves out endpoints and interfaces with nothing to override, so the plan stays short. */
function hasContent(n: PlanNode): boolean {
  return n.properties.length > 0 || n.fileRefs.length > 0 || n.children.length > 0;
}

function applianceNode(a: Appliance, fileSetsOwner: Appliance): PlanNode {
  const parts: PlanNode[] = [
    ...a.inputs.map((i) => node('input', i.name, i.properties, [])),
    ...a.outputs.map((o) => node('output', o.name, o.properties, [])),
    ...a.interfaces.flatMap((i) => i.flatten()).map((f) => node('interface', f.name, f.properties, [])),
  ].filter(hasContent);
  const s = a.scalability;
  const synthetic: PlanSynthetic[] = a.isClustered ? SYNTHETIC_PROPERTIES.filter((sp) => sp.appliesTo === 'scalable').map((sp) => ({ name: sp.name, value: sp.defaultValue })) : [];
  const hosts: PlanHost[] = Array.from({ length: s.target }, (_, i) => ({ instance: String(i + 1), hostname: '', address: '' }));
  // Siblings use the file sets (and so the volumes) of the first appliance; only the owner lists mount targets.
  const mountTargets: PlanMountTarget[] =
    fileSetsOwner === a
      ? a.fileSets
          .filter((f) => f.scope === 'shared' && f.sharedType === 'NFS' && f.mountTarget?.source === 'plan')
          .map((f) => ({ fileSet: f.name, target: '', captured: f.captured }))
      : [];
  return node('appliance', a.name, a.properties, parts, {
    instances: { count: String(s.target), min: s.min, max: s.max },
    synthetic,
    hosts,
    mountTargets,
  });
}

function memberNode(m: AssemblyMember): PlanNode {
  if (m instanceof Appliance) return applianceNode(m, m);
  if (m instanceof AtomicAssembly) {
    const primary = m.primary;
    return node('atomicAssembly', m.name, m.properties, m.appliances.map((a) => applianceNode(a, a.isSibling && primary ? primary : a)));
  }
  if (m instanceof ExternalResource) {
    return node('externalResource', m.name, m.properties, m.inputs.map((i) => node('input', i.name, i.properties, [])).filter(hasContent));
  }
  return node('assembly', m.name, m.properties, m.members.map(memberNode));
}

/**
 * The starting plan for a top-level, non-atomic assembly. Password values are included
 * in clear (the plan is in memory); formatPlan encrypts or blanks them.
 */
export function createDeploymentPlan(assembly: Assembly, lookup: PlanLookup = {}): DeploymentPlan {
  if (!(assembly instanceof Assembly)) {
    const what = assembly as unknown;
    const name = typeof what === 'object' && what !== null && 'name' in what ? String((what as { name: unknown }).name) : '?';
    throw new UserError('NOT_DEPLOYABLE', `"${name}" is not a (non-atomic) assembly; only a top-level assembly has a deployment plan`, {
      where: name,
      hint: `create an assembly with abctl createAssembly, add "${name}" to it and make the plan for that assembly`,
    });
  }
  if (lookup.isTopLevel && !lookup.isTopLevel(assembly.name)) {
    throw new UserError('NOT_DEPLOYABLE', `assembly "${assembly.name}" is not a top-level assembly; only top-level assemblies are deployed`, {
      where: assembly.where,
      hint: 'make the plan for the assembly that contains it',
    });
  }
  if (assembly.members.length === 0) {
    throw new UserError('NOT_DEPLOYABLE', `assembly "${assembly.name}" is empty: there is nothing to deploy`, {
      where: assembly.where,
      hint: `add appliances with abctl addToAssembly --assembly ${assembly.name} --name <appliance>`,
    });
  }
  const root = node('assembly', assembly.name, assembly.properties, assembly.members.map(memberNode));
  return { formatVersion: PLAN_FORMAT_VERSION, assembly: assembly.name, root };
}

/**
 * The assembly with a deployment plan laid over it: a copy whose user property values are
 * the plan's (on members, endpoints and interfaces). The member copies in a catalog assembly
 * already carry the assembly's edits over the introspected values, so this copy holds the
 * effective values up to the plan; late bindings travel separately (bindings.json).
 */
import { UserError } from '../../core/errors.js';
import { Assembly, Appliance, ExternalResource } from '../../core/metadata/index.js';
import { resolveObjectPath, type DeploymentPlan, type PlanNode } from '../../core/deployment-plan/index.js';
import type { PropertySet } from '../../core/metadata/index.js';
import { EffectiveProperties } from '../../core/rehydration/index.js';

/** A file the plan names for a fileRef property, to ship as a content resource. */
export interface PlanFile {
  /** Member path of the appliance. */
  readonly appliance: string;
  readonly property: string;
  /** Local path as the plan resolves it. */
  readonly file: string;
}

export function applyPlan(assembly: Assembly, plan: DeploymentPlan | undefined): { assembly: Assembly; files: PlanFile[] } {
  const copy = Assembly.fromPlain(assembly.toPlain());
  const files: PlanFile[] = [];
  if (plan === undefined) return { assembly: copy, files };
  if (plan.assembly !== assembly.name) {
    throw new UserError('PLAN_MISMATCH', `the plan is for assembly "${plan.assembly}", not "${assembly.name}"`, {
      ...(plan.file ? { where: plan.file } : {}),
      hint: `give the plan written for ${assembly.name} (abctl createDeploymentPlan --assembly ${assembly.name})`,
    });
  }
  const walk = (node: PlanNode, path: string[]): void => {
    const isPart = node.kind === 'input' || node.kind === 'output' || node.kind === 'interface';
    const here = isPart ? [...path, node.kind, node.name] : node.kind === 'assembly' && path.length === 0 && node.name === assembly.name ? [] : [...path, node.name];
    const target = resolveObjectPath(copy, here.join('/'));
    overlay(target.properties, node, target.where);
    if (node.kind === 'appliance') {
      for (const ref of node.fileRefs) if (ref.file) files.push({ appliance: here.join('/'), property: ref.name, file: ref.file });
    }
    for (const child of node.children) walk(child, here);
  };
  walk(plan.root, []);
  return { assembly: copy, files };
}

/** The precedence rules (and their refusals: system properties, unknown names) are core/rehydration's. */
function overlay(set: PropertySet, node: PlanNode, where: string): void {
  if (node.properties.length === 0) return;
  const effective = EffectiveProperties.compute({ introspected: set.list(), plan: node.properties }, where);
  for (const { property, source } of effective) if (source === 'plan' && property.value !== undefined) set.set(property.name, property.value, 'framework');
}

/** The appliance at `path` in an (overlaid) assembly, or a clear error listing what there is. */
export function applianceAt(assembly: Assembly, path: string): Appliance {
  const found = resolveObjectPath(assembly, path);
  if (!(found.holder instanceof Appliance) || found.path.part) {
    const apps = appliancePaths(assembly);
    throw new UserError('BUNDLE_APPLIANCE_INVALID', `"${path}" in assembly "${assembly.name}" is ${found.holder instanceof ExternalResource ? 'an external resource (nothing is deployed for it)' : 'not an appliance'}`, {
      where: found.where,
      hint: apps.length ? `appliances: ${apps.join(', ')}` : 'the assembly has no appliances',
    });
  }
  return found.holder;
}

/** Paths of every appliance in the assembly, atomic assemblies and sub-assemblies included. */
export function appliancePaths(assembly: Assembly): string[] {
  const out: string[] = [];
  const walk = (a: Assembly, prefix: string): void => {
    for (const m of a.members) {
      const p = `${prefix}${m.name}`;
      if (m instanceof Appliance) out.push(p);
      else if (m instanceof Assembly) walk(m, `${p}/`);
      else if (!(m instanceof ExternalResource)) for (const x of m.appliances) out.push(`${p}/${x.name}`);
    }
  };
  walk(assembly, '');
  return out;
}

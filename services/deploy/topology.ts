/**
 * What a deployment is made of, computed from the assembly and the plan without I/O: the
 * appliances (external resources get no instance), how many instances each gets and on which
 * target, and the order to start them in (each after what it connects to).
 */
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly, ExternalResource, type AssemblyMember } from '../../core/metadata/index.js';
import type { DeploymentPlan, PlanNode } from '../../core/deployment-plan/index.js';

export interface ApplianceSlot {
  /** Member names from the top assembly down to the appliance; `key` joins them with '/'. */
  readonly path: readonly string[];
  readonly key: string;
  readonly appliance: Appliance;
  readonly node: PlanNode | undefined;
}

function childNode(n: PlanNode | undefined, name: string): PlanNode | undefined {
  return n?.children.find((c) => c.name === name && c.kind !== 'input' && c.kind !== 'output' && c.kind !== 'interface');
}

/** Every appliance of the assembly (nested ones too), with its plan node. */
export function appliancesOf(assembly: Assembly, plan: DeploymentPlan): ApplianceSlot[] {
  const out: ApplianceSlot[] = [];
  const walk = (m: AssemblyMember, path: string[], node: PlanNode | undefined) => {
    const p = [...path, m.name];
    if (m instanceof Appliance) out.push({ path: p, key: p.join('/'), appliance: m, node });
    else if (m instanceof AtomicAssembly) for (const a of m.appliances) walk(a, p, childNode(node, a.name));
    else if (m instanceof Assembly) for (const x of m.members) walk(x, p, childNode(node, x.name));
    // External resources: something outside the assembly, nothing to deploy.
  };
  for (const m of assembly.members) walk(m, [], childNode(plan.root, m.name));
  return out;
}

/** The plan's count (validated before) or the scalability target. */
export function plannedCount(slot: ApplianceSlot): number {
  const raw = slot.node?.instances?.count;
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : slot.appliance.scalability.target;
}

export function checkCount(slot: ApplianceSlot, count: number): void {
  const s = slot.appliance.scalability;
  const min = Math.max(1, s.min);
  if (!Number.isInteger(count) || count < min || count > s.max) {
    throw new UserError('DEPLOY_COUNT_OUT_OF_BOUNDS', `${count} instances of appliance "${slot.key}" is outside its scalability bounds ${min}..${s.max}`, {
      where: slot.appliance.where,
      hint: `give a count from ${min} to ${s.max}`,
    });
  }
}

/**
 * The target of instance `index` (1-based): the plan's host line for that instance when it
 * names a target, otherwise the appliance's targets in turn (round-robin), so instances
 * beyond the listed hosts, e.g. after scaling up, spread over them.
 */
export function placeInstance(slot: ApplianceSlot, index: number): string {
  const hosts = (slot.node?.hosts ?? [])
    .filter((h) => h.target !== undefined && /^\d+$/.test(h.instance))
    .sort((a, b) => Number(a.instance) - Number(b.instance));
  const own = hosts.find((h) => Number(h.instance) === index);
  if (own?.target) return own.target;
  if (hosts.length === 0) {
    throw new UserError('DEPLOY_NO_TARGET', `appliance "${slot.key}" has no target host for instance ${index}`, {
      where: slot.appliance.where,
      hint: `add target="local" or target="ssh://user@host:22" to its <host instance="${index}"> line in the plan`,
    });
  }
  return hosts[(index - 1) % hosts.length]?.target as string;
}

export function instanceId(slot: { path: readonly string[] }, index: number): string {
  return `${slot.path.join('.')}-${index}`;
}

/** A connection between two deployed appliances (the `from` side connects to the `to` side). */
export interface Link {
  readonly from: string;
  readonly output: string;
  /** Appliance key, or the external resource's path key. */
  readonly to: string;
  readonly input: string;
  readonly external: boolean;
}

export function linksOf(assembly: Assembly, slots: readonly ApplianceSlot[]): Link[] {
  const keys = new Set(slots.map((s) => s.key));
  const isExternal = (path: readonly string[]): boolean => {
    let m: AssemblyMember | Assembly | undefined = assembly;
    for (const name of path) {
      if (m instanceof Assembly) m = m.getMember(name);
      else if (m instanceof AtomicAssembly) m = m.getAppliance(name);
      else return false;
    }
    return m instanceof ExternalResource;
  };
  const out: Link[] = [];
  for (const c of assembly.allConnections()) {
    const from = c.from.path.join('/');
    const to = c.to.path.join('/');
    if (!keys.has(from)) continue;
    if (keys.has(to)) out.push({ from, output: c.from.endpoint, to, input: c.to.endpoint, external: false });
    else if (isExternal(c.to.path)) out.push({ from, output: c.from.endpoint, to, input: c.to.endpoint, external: true });
  }
  return out;
}

/**
 * Appliance keys in start order: an appliance comes after every appliance it connects to.
 * A cycle cannot be started in any order; it is reported with its members.
 */
export function startOrder(slots: readonly ApplianceSlot[], links: readonly Link[]): string[][] {
  const deps = new Map<string, Set<string>>(slots.map((s) => [s.key, new Set<string>()]));
  for (const l of links) if (!l.external && l.from !== l.to) deps.get(l.from)?.add(l.to);
  for (const l of links) {
    if (!l.external && l.from === l.to) throw cycleError([l.from, l.from]);
  }
  const layers: string[][] = [];
  const done = new Set<string>();
  while (done.size < deps.size) {
    const layer = [...deps.keys()].filter((k) => !done.has(k) && [...(deps.get(k) ?? [])].every((d) => done.has(d)));
    if (layer.length === 0) throw cycleError(findCycle(deps, done));
    layer.sort();
    layers.push(layer);
    for (const k of layer) done.add(k);
  }
  return layers;
}

function findCycle(deps: Map<string, Set<string>>, done: Set<string>): string[] {
  // Walk from any remaining node along remaining edges until a node repeats.
  const start = [...deps.keys()].find((k) => !done.has(k)) as string;
  const seen: string[] = [];
  let cur = start;
  while (!seen.includes(cur)) {
    seen.push(cur);
    cur = [...(deps.get(cur) ?? [])].find((d) => !done.has(d)) as string;
  }
  return [...seen.slice(seen.indexOf(cur)), cur];
}

function cycleError(cycle: string[]): UserError {
  return new UserError('DEPLOY_CYCLE', `the connections form a cycle, so no start order exists: ${cycle.join(' -> ')}`, {
    where: cycle[0],
    hint: 'each product starts after what it connects to; remove one of these connections (abctl disconnectEndpoints) or replace one end by an external resource',
  });
}

/** Appliances whose bindings name `key` (they connect to it), i.e. what to rehydrate again when it scales. */
export function clientsOf(key: string, links: readonly Link[]): string[] {
  return [...new Set(links.filter((l) => l.to === key && l.from !== key).map((l) => l.from))].sort();
}

/**
 * Text views of catalog objects for the describe commands. Values come from the model's
 * toString()/toJSON(), which mask passwords, so nothing here can print one in clear.
 */
import { recaptureHint, type FileSetStatus } from '../../../catalog/index.js';
import {
  Appliance,
  Assembly,
  AtomicAssembly,
  ExternalResource,
  formatEndpointRef,
  formatParticipants,
  type AssemblyMember,
  type FileSetDefinition,
  type Property,
  type PropertySet,
} from '../../../core/metadata/index.js';

function propertyLine(p: Property): string {
  const tags = [p.type, p.category, ...(p.required ? ['required'] : [])].join(', ');
  return `${p.toString()}  [${tags}]${p.description ? `  - ${p.description}` : ''}`;
}

function properties(out: string[], set: PropertySet, indent: string, title = 'properties'): void {
  if (set.size === 0) return;
  out.push(`${indent}${title}:`);
  for (const p of set) out.push(`${indent}  ${propertyLine(p)}`);
}

/** The state of a file set's archive (owner path, file set) -> status; absent when not looked up. */
export type FileSetStates = ReadonlyMap<string, FileSetStatus>;

export function stateKey(owner: string, fileSet: string): string {
  return `${owner}\0${fileSet}`;
}

export function fileSetStates(list: readonly FileSetStatus[]): FileSetStates {
  return new Map(list.map((s) => [stateKey(s.appliance, s.fileSet), s]));
}

/** What the archive is now, in words. */
export function archiveText(s: FileSetStatus): string {
  const a = s.archive;
  switch (a.state) {
    case 'notCaptured':
      return s.capturedByDefinition ? `not captured yet (${recaptureHint(s).replace(/^capture it again: /, '')})` : 'not captured (the definition leaves these files to the target)';
    case 'captured':
      return `captured ${a.archive.capturedAt}: ${a.archive.path}, ${a.archive.size} bytes, sha256 ${a.archive.sha256} (checked)`;
    case 'missing':
      return `MISSING: ${a.archive.path} (captured ${a.archive.capturedAt}) is gone; capture it again`;
    case 'damaged':
      return `DAMAGED: ${a.archive.path}: ${a.reason}; capture it again`;
  }
}

function fileSetLine(f: FileSetDefinition, status: FileSetStatus | undefined): string {
  const how = f.scope === 'local' ? 'local' : `shared ${f.sharedType ?? ''}`;
  const excludes = f.excludes.length ? `; excludes ${f.excludes.join(', ')}` : '';
  const state = status ? archiveText(status) : f.captured ? 'captured by abctl (state not checked here)' : 'not captured by abctl';
  return `file set ${f.name} (${f.root}, ${how}${excludes}): ${state}`;
}

/** `path`: the appliance's owner path in the catalog (its name, or assembly/member/...), for state lookup. */
export function renderAppliance(a: Appliance, indent = '', states?: FileSetStates, path = a.name): string[] {
  const out: string[] = [];
  const s = a.scalability;
  out.push(`${indent}appliance ${a.name}  (type ${a.type}, created by ${a.creator})${a.description ? `  - ${a.description}` : ''}`);
  const i = `${indent}  `;
  const res = [a.resources.memoryMiB ? `${a.resources.memoryMiB} MiB` : '', a.resources.cpus ? `${a.resources.cpus} CPUs` : ''].filter(Boolean).join(', ');
  out.push(`${i}instances: min ${s.min}, target ${s.target}, max ${s.max}, absolute max ${s.absoluteMax}${res ? `; needs ${res}` : ''}`);
  out.push(`${i}made with: ${formatParticipants(a)}`);
  if (a.isSibling) out.push(`${i}file sets: those of ${a.fileSetsFrom} (sibling)`);
  properties(out, a.properties, i);
  out.push(`${i}interfaces: ${a.interfaces.map((x) => x.toString().replace(/^physical interface /, '')).join(', ')}`);
  for (const x of a.interfaces.flatMap((f) => f.flatten())) properties(out, x.properties, `${i}  `, `interface ${x.name} properties`);
  for (const inp of a.inputs) {
    out.push(`${i}input ${inp.name}: ${inp.protocols.join('/')} port ${inp.port ?? '-'} on ${inp.interfaceName}`);
    properties(out, inp.properties, `${i}  `);
  }
  for (const o of a.outputs) {
    const needs = o.connectionProperties.names();
    out.push(`${i}output ${o.name}: ${o.protocol}${needs.length ? `, needs ${needs.join(', ')}` : ''}`);
    properties(out, o.properties, `${i}  `);
  }
  for (const f of a.fileSets) out.push(`${i}${fileSetLine(f, states?.get(stateKey(path, f.name)))}`);
  if (a.contentResources.length) out.push(`${i}content resources: ${a.contentResources.map((c) => (c.template ? `${c.name} (template)` : c.name)).join(', ')}`);
  return out;
}

function renderMember(m: AssemblyMember | Assembly, indent: string, states: FileSetStates | undefined, path: string): string[] {
  if (m instanceof Appliance) return renderAppliance(m, indent, states, path);
  if (m instanceof ExternalResource) {
    const out = [`${indent}external resource ${m.name}  (type ${m.type})${m.description ? `  - ${m.description}` : ''}`];
    properties(out, m.properties, `${indent}  `);
    for (const inp of m.inputs) {
      out.push(`${indent}  input ${inp.name}: ${inp.protocols.join('/')}`);
      properties(out, inp.properties, `${indent}    `);
    }
    return out;
  }
  if (m instanceof AtomicAssembly) {
    const out = [`${indent}atomic assembly ${m.name}  (created by ${m.creator}; not editable)${m.description ? `  - ${m.description}` : ''}`, `${indent}  made with: ${formatParticipants(m)}`];
    properties(out, m.properties, `${indent}  `);
    for (const a of m.appliances) out.push(...renderAppliance(a, `${indent}  `, states, `${path}/${a.name}`));
    for (const c of m.connections) out.push(`${indent}  connection ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}`);
    return out;
  }
  const out = [`${indent}assembly ${m.name}${m.description ? `  - ${m.description}` : ''}`];
  properties(out, m.properties, `${indent}  `);
  for (const x of m.members) out.push(...renderMember(x, `${indent}  `, states, `${path}/${x.name}`));
  for (const c of m.connections) out.push(`${indent}  connection ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}`);
  out.push(`${indent}  vnets: ${m.vnets.map((v) => v.toString().replace(/^vnet /, '')).join(', ')}`);
  return out;
}

export function renderAssembly(a: Assembly | AtomicAssembly, states?: FileSetStates): string[] {
  return renderMember(a, '', states, a.name);
}

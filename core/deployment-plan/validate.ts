import type { ErrorCode } from '../errors.js';
/**
 * Checking a plan against its assembly. Every problem is collected (not just the first),
 * each naming the object path, the property and, for plans read from a file, the line,
 * so one run tells the user everything to fix.
 */
import { isIP } from 'node:net';
import {
  Appliance,
  Assembly,
  AtomicAssembly,
  describeMissing,
  ExternalResource,
  findMissingRequired,
  missingContentResource,
  normalizePropertyValue,
  type AssemblyMember,
  type Property,
  type PropertySet,
} from '../metadata/index.js';
import { compileTemplate, lateBindingSource, TemplateError, type TemplateSource, type TemplateVariable } from '../templates/index.js';
import { KIND_LABELS, syntheticSpec, type DeploymentPlan, type PlanNode, type PlanNodeKind } from './model.js';

export interface PlanProblem {
  /** Stable code, e.g. PLAN_REQUIRED_MISSING. */
  readonly code: ErrorCode;
  readonly message: string;
  /** Object path: `assembly "A" > appliance "web" > property "port"`. */
  readonly where: string;
  /** Line in the plan file, when the problem is at a place in it. */
  readonly line?: number;
  readonly hint?: string;
}

export interface ValidateOptions {
  /** Checks that a fileRef's local file exists (the caller does the I/O; relative paths are the caller's to resolve). */
  readonly fileExists?: (path: string) => boolean;
  /** Also require every instance to have a target host (a deployment needs them; editing a plan does not). */
  readonly requireHosts?: boolean;
  /**
   * The texts of the appliances' template content resources, by object path (`web`,
   * `tier/db`); the caller reads them. Each variable must have a value once the plan is
   * applied, or be a late binding the deployment fills.
   */
  readonly templates?: ReadonlyMap<string, readonly TemplateSource[]>;
}

/** `plan.xml:12: where: message` plus the hint, for people. */
export function describePlanProblem(p: PlanProblem, file?: string): string {
  const at = file ? (p.line !== undefined ? `${file}:${p.line}: ` : `${file}: `) : p.line !== undefined ? `line ${p.line}: ` : '';
  return `${at}${p.where}: ${p.message}${p.hint ? `\n  hint: ${p.hint}` : ''}`;
}

type Model = Assembly | AssemblyMember | { kind: 'part'; properties: PropertySet; name: string };

const HOSTNAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** `server:/export/path`, or `file:///path` (a bind mount of a directory on the instance's machine). */
const NFS_TARGET = /^(?:file:\/\/\/\S*|(?!file:)[^\s:/]+:\/\S*)$/;
/**
 * `local`, `ssh://[user@]host[:port]` (host: a name, IPv4, or [IPv6]; the SSH layer checks the
 * details), `podman` (this machine's podman) or `kubernetes:CONTEXT` (a kubeconfig context).
 */
const DEPLOY_TARGET = /^(?:local|podman|kubernetes:[A-Za-z0-9@._:/-]+|ssh:\/\/(?:[A-Za-z0-9._][A-Za-z0-9._-]*\$?@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)$/;

function label(kind: PlanNodeKind, name: string): string {
  return `${KIND_LABELS[kind]} "${name}"`;
}

function modelKind(m: Assembly | AssemblyMember): PlanNodeKind {
  if (m instanceof Appliance) return 'appliance';
  if (m instanceof AtomicAssembly) return 'atomicAssembly';
  if (m instanceof ExternalResource) return 'externalResource';
  return 'assembly';
}

class Checker {
  readonly problems: PlanProblem[] = [];
  /** `where\0property` of every required-capable value the plan provides. */
  readonly provided = new Set<string>();
  /** The plan node of each appliance the plan names, by its `where`. */
  readonly applianceNodes = new Map<string, PlanNode>();
  /** `where\0property` -> the template uses of a required property: its PLAN_REQUIRED_MISSING names them instead. */
  readonly requiredUses = new Map<string, string[]>();
  constructor(readonly opts: ValidateOptions) {}

  add(code: ErrorCode, message: string, where: string, line: number | undefined, hint?: string): void {
    this.problems.push({ code, message, where, ...(line !== undefined ? { line } : {}), ...(hint ? { hint } : {}) });
  }

  /** The model object a plan child names, or a problem. */
  findChild(parent: Model, c: PlanNode, where: string): Model | undefined {
    const unknown = (known: string[], what: string) => {
      this.add('PLAN_UNKNOWN_OBJECT', `there is no ${KIND_LABELS[c.kind]} "${c.name}" here`, where, c.line, known.length ? `${what}: ${known.join(', ')}` : `it has no ${what}`);
      return undefined;
    };
    if (parent instanceof Assembly) {
      const m = parent.getMember(c.name);
      if (!m) return unknown(parent.members.map((x) => `${x.name} (${KIND_LABELS[modelKind(x)]})`), 'members');
      if (modelKind(m) !== c.kind) {
        this.add('PLAN_UNKNOWN_OBJECT', `member "${c.name}" is a ${KIND_LABELS[modelKind(m)]}, not a ${KIND_LABELS[c.kind]}`, where, c.line, `write it as <${modelKind(m)} name="${c.name}">`);
        return undefined;
      }
      return m;
    }
    if (parent instanceof AtomicAssembly) {
      return parent.getAppliance(c.name) ?? unknown(parent.appliances.map((a) => a.name), 'appliances');
    }
    if (parent instanceof Appliance || parent instanceof ExternalResource) {
      let props: PropertySet | undefined;
      if (c.kind === 'input') props = parent.getInput(c.name)?.properties;
      else if (c.kind === 'output' && parent instanceof Appliance) props = parent.getOutput(c.name)?.properties;
      else if (c.kind === 'interface' && parent instanceof Appliance) props = parent.findInterface(c.name)?.properties;
      if (props) return { kind: 'part', properties: props, name: c.name };
      const known =
        c.kind === 'input' ? parent.inputs.map((i) => i.name) : parent instanceof Appliance ? (c.kind === 'output' ? parent.outputs.map((o) => o.name) : parent.interfaces.flatMap((i) => i.flatten().map((f) => f.name))) : [];
      return unknown(known, `${c.kind}s`);
    }
    return unknown([], 'members');
  }

  node(n: PlanNode, m: Model, where: string, fileSetsOwner: Appliance | undefined): void {
    const props = m.properties;
    this.properties(n, props, where, m instanceof Appliance ? m.contentResources.map((r) => r.name) : undefined);
    if (m instanceof Appliance) {
      this.applianceNodes.set(where, n);
      this.appliance(n, m, where, fileSetsOwner ?? m);
    }
    else if (n.instances || n.synthetic.length || n.hosts.length || n.mountTargets.length) {
      this.add('PLAN_NOT_ALLOWED', 'instances, synthetic properties, hosts and mount targets belong to appliances only', where, n.line);
    }
    const seen = new Set<string>();
    for (const c of n.children) {
      const key = `${c.kind}\0${c.name}`;
      const cWhere = `${where} > ${label(c.kind, c.name)}`;
      if (seen.has(key)) {
        this.add('PLAN_DUPLICATE', `${label(c.kind, c.name)} is given twice in the plan`, cWhere, c.line, 'merge the two elements into one');
        continue;
      }
      seen.add(key);
      const child = this.findChild(m, c, where);
      if (!child) continue;
      const owner = m instanceof AtomicAssembly && child instanceof Appliance && child.isSibling ? m.primary : undefined;
      this.node(c, child, cWhere, owner);
    }
  }

  /** `resources`: the appliance's content resource names, which its fileRef values may name. */
  properties(n: PlanNode, set: PropertySet, where: string, resources?: readonly string[]): void {
    const seen = new Set<string>();
    const userNames = () => set.list().filter((p) => p.category === 'user').map((p) => p.name);
    for (const p of n.properties) {
      const pWhere = `${where} > property "${p.name}"`;
      if (seen.has(p.name)) {
        this.add('PLAN_DUPLICATE', `property "${p.name}" is given twice`, pWhere, p.line);
        continue;
      }
      seen.add(p.name);
      const model = set.get(p.name);
      if (!model) {
        const known = userNames();
        this.add('PLAN_UNKNOWN_PROPERTY', `there is no property "${p.name}" to override`, pWhere, p.line, known.length ? `user properties here: ${known.join(', ')}` : 'this object has no user properties');
        continue;
      }
      if (model.category === 'system') {
        this.add('PLAN_SYSTEM_PROPERTY', `"${p.name}" is a system property: it is read-only and cannot be overridden in a plan`, pWhere, p.line, 'remove this line; only user properties can be overridden');
        continue;
      }
      if (model.type === 'fileRef') {
        this.add('PLAN_TYPE_MISMATCH', `"${p.name}" is a fileRef property: give a local file with <fileRef name="${p.name}" file="..."/>, not a <property>`, pWhere, p.line);
        continue;
      }
      if (p.type !== model.type) {
        this.add('PLAN_TYPE_MISMATCH', `the plan says type ${p.type} but property "${p.name}" is of type ${model.type}`, pWhere, p.line, `write type="${model.type}"`);
      }
      if (p.secretProblem !== undefined) {
        this.add('PLAN_PASSWORD_UNREADABLE', `the password cannot be read: ${p.secretProblem}`, pWhere, p.line, 'set it again with abctl setPlanPassword');
        continue;
      }
      if (p.clearText) {
        // Counted as provided: the value is there, only stored the wrong way; one problem is enough.
        this.provided.add(`${where}\0${p.name}`);
        this.add('PLAN_PASSWORD_CLEAR', 'the password is written in clear text; plans hold passwords only encrypted', pWhere, p.line, 'remove the value attribute and set it with abctl setPlanPassword (it encrypts it with the instance key)');
        continue;
      }
      if (p.value === undefined) continue;
      // An empty value fills in nothing: a required property would deploy empty (a blank password, an empty host name).
      if (p.value === '' && model.required) {
        this.provided.add(`${where}\0${p.name}`);
        this.add(
          'PLAN_REQUIRED_MISSING',
          `required property "${p.name}" is given an empty value, which counts as none`,
          pWhere,
          p.line,
          model.secret ? 'set it with abctl setPlanPassword (a non-empty first line of --value-file, $AB_PROPERTY_VALUE or the prompt)' : `give it a non-empty value="..." here`,
        );
        continue;
      }
      try {
        normalizePropertyValue(model.type, p.value);
        this.provided.add(`${where}\0${p.name}`);
      } catch (err) {
        this.add('PLAN_VALUE_INVALID', err instanceof Error ? err.message : String(err), pWhere, p.line);
      }
    }
    const seenRefs = new Set<string>();
    for (const f of n.fileRefs) {
      const fWhere = `${where} > property "${f.name}"`;
      if (seenRefs.has(f.name) || seen.has(f.name)) {
        this.add('PLAN_DUPLICATE', `property "${f.name}" is given twice`, fWhere, f.line);
        continue;
      }
      seenRefs.add(f.name);
      const model = set.get(f.name);
      if (!model) {
        this.add('PLAN_UNKNOWN_PROPERTY', `there is no fileRef property "${f.name}" to override`, fWhere, f.line, `fileRef properties here: ${set.list().filter((p) => p.type === 'fileRef' && p.category === 'user').map((p) => p.name).join(', ') || 'none'}`);
        continue;
      }
      if (model.category === 'system') {
        this.add('PLAN_SYSTEM_PROPERTY', `"${f.name}" is a system property: it is read-only and cannot be overridden in a plan`, fWhere, f.line, 'remove this line');
        continue;
      }
      if (model.type !== 'fileRef') {
        this.add('PLAN_TYPE_MISMATCH', `"${f.name}" is a ${model.type} property, not a fileRef: set it with <property name="${f.name}" value="..."/>`, fWhere, f.line);
        continue;
      }
      // Unless a local file replaces it, the plan's `current` (as written or edited) and the metadata's
      // value must name a resource the appliance has; other schemes are kept and skipped at
      // rehydration, so they are not checked here.
      const uri = resources && f.file === undefined ? [f.current, model.value].find((v) => missingContentResource(v, resources) !== undefined) : undefined;
      if (uri) {
        const known = resources!.length ? `content resources here: ${resources!.join(', ')}` : 'this appliance has no content resources';
        this.add('FILEREF_UNRESOLVED', `${uri} names no content resource of this appliance`, fWhere, f.line, `${known}; point it at one of them, or give a local file with file="..."`);
        continue;
      }
      if (f.file === undefined) continue;
      if (this.opts.fileExists && !this.opts.fileExists(f.file)) {
        this.add('PLAN_FILE_MISSING', `the file ${f.file} does not exist or is not a regular file`, fWhere, f.line, 'fix the path (relative paths are relative to the plan file)');
        continue;
      }
      this.provided.add(`${where}\0${f.name}`);
    }
  }

  appliance(n: PlanNode, a: Appliance, where: string, fileSetsOwner: Appliance): void {
    const s = a.scalability;
    let count = s.target;
    if (n.instances) {
      const raw = n.instances.count;
      const iWhere = `${where} > instances`;
      if (!/^\d+$/.test(raw)) {
        this.add('PLAN_VALUE_INVALID', `instance count "${raw}" is not a whole number`, iWhere, n.instances.line, `use a number from ${s.min} to ${s.max}`);
      } else if (Number(raw) < Math.max(1, s.min) || Number(raw) > s.max) {
        this.add('PLAN_INSTANCES_OUT_OF_BOUNDS', `instance count ${raw} is outside the appliance's bounds ${Math.max(1, s.min)}..${s.max}`, iWhere, n.instances.line, `use a number from ${Math.max(1, s.min)} to ${s.max} (scalability min..max; at least 1 to deploy)`);
      } else {
        count = Number(raw);
      }
    }
    // Synthetic properties.
    const synth = new Map<string, string>();
    for (const sp of n.synthetic) {
      const sWhere = `${where} > synthetic "${sp.name}"`;
      const spec = syntheticSpec(sp.name);
      if (!spec) {
        this.add('PLAN_UNKNOWN_PROPERTY', `there is no synthetic property "${sp.name}"`, sWhere, sp.line, 'known synthetic properties: antiAffinity');
        continue;
      }
      if (synth.has(sp.name)) {
        this.add('PLAN_DUPLICATE', `synthetic property "${sp.name}" is given twice`, sWhere, sp.line);
        continue;
      }
      if (spec.appliesTo === 'scalable' && !a.isClustered) {
        this.add('PLAN_NOT_ALLOWED', `synthetic property "${sp.name}" applies only to scalable appliances (scalability max > 1); this one has max ${s.max}`, sWhere, sp.line, 'remove this line');
        continue;
      }
      const value = sp.value ?? spec.defaultValue;
      try {
        synth.set(sp.name, normalizePropertyValue(spec.type, value));
      } catch (err) {
        this.add('PLAN_VALUE_INVALID', err instanceof Error ? err.message : String(err), sWhere, sp.line);
      }
    }
    // Hosts.
    const byInstance = new Map<number, { hostname: string; address: string; target: string | undefined; line: number | undefined }>();
    for (const h of n.hosts) {
      const hWhere = `${where} > host ${h.instance}`;
      if (!/^\d+$/.test(h.instance) || Number(h.instance) < 1) {
        this.add('PLAN_VALUE_INVALID', `host instance "${h.instance}" must be a whole number from 1`, hWhere, h.line);
        continue;
      }
      const i = Number(h.instance);
      if (byInstance.has(i)) {
        this.add('PLAN_DUPLICATE', `instance ${i} has two <host> entries`, hWhere, h.line);
        continue;
      }
      byInstance.set(i, { hostname: h.hostname, address: h.address, target: h.target, line: h.line });
      if (h.target !== undefined && !DEPLOY_TARGET.test(h.target)) {
        this.add('PLAN_HOST_INVALID', `target "${h.target}" is not "local", "podman", "kubernetes:CONTEXT" or an ssh://user@host[:port] URL`, hWhere, h.line, 'write target="local" for this machine, target="ssh://user@host:22", target="podman" or target="kubernetes:my-context"');
      }
      // A host with a target beyond the count is a spare that scaling up uses.
      if (i > count && h.target === undefined) {
        this.add('PLAN_HOST_EXTRA', `a host is given for instance ${i}, but only ${count} instance${count === 1 ? ' is' : 's are'} deployed`, hWhere, h.line, 'remove the extra <host> lines or raise the instance count');
      }
      if (h.hostname !== '' && !HOSTNAME.test(h.hostname)) {
        this.add('PLAN_HOST_INVALID', `host name "${h.hostname}" is not a valid DNS name (letters, digits, - and dots; labels up to 63 characters)`, hWhere, h.line);
      }
      if (h.address !== '' && isIP(h.address) === 0) {
        this.add('PLAN_HOST_INVALID', `address "${h.address}" is not an IPv4 or IPv6 address`, hWhere, h.line);
      }
    }
    if (this.opts.requireHosts) {
      // Deploy places an instance by `target`: its own line's, else the appliance's others in
      // turn. A host name or address alone does not say how to reach the machine.
      const anyTarget = [...byInstance.values()].some((h) => h.target !== undefined);
      for (let i = 1; i <= count; i++) {
        const h = byInstance.get(i);
        if (h?.target !== undefined || anyTarget) continue;
        this.add(
          'PLAN_HOST_MISSING',
          `instance ${i} has no target host`,
          `${where} > host ${i}`,
          h?.line ?? n.line,
          `add target="local", target="ssh://user@host:22", target="podman" or target="kubernetes:CONTEXT" to its <host instance="${i}"> line (abctl deploy runs it there)`,
        );
      }
    }
    if (synth.get('antiAffinity') === 'true') {
      const seen = new Map<string, number>();
      for (const [i, h] of [...byInstance.entries()].sort((x, y) => x[0] - y[0])) {
        if (i > count) continue;
        const key = (h.target ?? (h.hostname || h.address)).toLowerCase();
        if (key === '') continue;
        const other = seen.get(key);
        if (other !== undefined) {
          this.add('PLAN_ANTI_AFFINITY', `instances ${other} and ${i} are both placed on ${key}, but antiAffinity is true`, `${where} > host ${i}`, h.line, 'give each instance its own host, or set antiAffinity to false');
        } else seen.set(key, i);
      }
    }
    // Mount targets: the file set owner lists them (siblings share its volumes).
    const needed = fileSetsOwner.fileSets.filter((f) => f.scope === 'shared' && f.sharedType === 'NFS' && f.mountTarget?.source === 'plan');
    const given = new Map<string, string>();
    for (const mt of n.mountTargets) {
      const mWhere = `${where} > mount target "${mt.fileSet}"`;
      if (fileSetsOwner !== a) {
        this.add('PLAN_NOT_ALLOWED', `appliance "${a.name}" shares the file sets of "${fileSetsOwner.name}"; give mount targets there`, mWhere, mt.line);
        continue;
      }
      if (!needed.some((f) => f.name === mt.fileSet)) {
        const fs = a.getFileSet(mt.fileSet);
        this.add(
          'PLAN_UNKNOWN_OBJECT',
          fs ? `file set "${mt.fileSet}" does not take an NFS mount target from the plan` : `there is no file set "${mt.fileSet}"`,
          mWhere,
          mt.line,
          needed.length ? `file sets that need one: ${needed.map((f) => f.name).join(', ')}` : 'no file set of this appliance needs a mount target',
        );
        continue;
      }
      if (given.has(mt.fileSet)) {
        this.add('PLAN_DUPLICATE', `mount target for "${mt.fileSet}" is given twice`, mWhere, mt.line);
        continue;
      }
      given.set(mt.fileSet, mt.target);
      if (mt.target !== '' && !NFS_TARGET.test(mt.target)) {
        this.add('PLAN_MOUNT_TARGET_INVALID', `mount target "${mt.target}" must look like server:/export/path (or file:///path for a directory of the instance's machine)`, mWhere, mt.line);
      }
    }
    if (fileSetsOwner === a) {
      for (const f of needed) {
        if ((given.get(f.name) ?? '') === '') {
          const line = n.mountTargets.find((m) => m.fileSet === f.name)?.line ?? n.line;
          this.add('PLAN_MOUNT_TARGET_MISSING', `shared NFS file set "${f.name}" needs a mount target (server:/export/path) and the plan gives none`, `${where} > mount target "${f.name}"`, line, `set target="server:/export" on <mountTarget fileSet="${f.name}">`);
        }
      }
    }
  }

  /** Every appliance of `assembly` with templates: each variable left without a value is a problem. */
  templates(assembly: Assembly, sources: ReadonlyMap<string, readonly TemplateSource[]>, rootWhere: string): void {
    const members = new Map<string, AssemblyMember>();
    const appliances: { a: Appliance; where: string; path: string }[] = [];
    const walk = (m: Assembly | AtomicAssembly, where: string, prefix: string): void => {
      for (const x of m instanceof Assembly ? m.members : m.appliances) {
        const path = `${prefix}${x.name}`;
        const xWhere = `${where} > ${label(modelKind(x), x.name)}`;
        members.set(path, x);
        if (x instanceof Appliance) appliances.push({ a: x, where: xWhere, path });
        else if (x instanceof Assembly || x instanceof AtomicAssembly) walk(x, xWhere, `${path}/`);
      }
    };
    walk(assembly, rootWhere, '');
    // Output (`path\0output`) -> the member its input belongs to.
    const peers = new Map<string, AssemblyMember | undefined>();
    for (const c of assembly.allConnections()) peers.set(`${c.from.path.join('/')}\0${c.from.endpoint}`, members.get(c.to.path.join('/')));
    for (const { a, where, path } of appliances) {
      for (const source of sources.get(path) ?? []) this.template(a, where, path, source, assembly.name, (output) => peers.get(`${path}\0${output}`));
    }
  }

  template(a: Appliance, where: string, path: string, source: TemplateSource, assemblyName: string, peerOf: (output: string) => AssemblyMember | undefined): void {
    const node = this.applianceNodes.get(where);
    let variables: readonly TemplateVariable[];
    try {
      variables = compileTemplate(source).variables;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.add(err.code, `template "${source.name}": ${err.message}${err.line !== undefined ? ` (line ${err.line})` : ''}`, where, undefined, 'introspect the appliance again with a plugin whose template parses');
      return;
    }
    const uses = new Map<string, number[]>();
    for (const v of variables) uses.set(v.name, [...(uses.get(v.name) ?? []), v.line]);
    const outputs = a.outputs.map((o) => o.name);
    // Variables of one output that is not connected: one problem names them all.
    const unbound = new Map<string, string[]>();
    for (const [name, lines] of uses) {
      const at = `template "${source.name}" ${linesText(lines)}`;
      const late = lateBindingSource(name, outputs);
      if (late?.kind === 'instance') continue;
      if (late?.kind === 'output') {
        const peer = peerOf(late.output);
        if (peer === undefined) unbound.set(late.output, [...(unbound.get(late.output) ?? []), `"${name}" (${linesText(lines)})`]);
        else if (peer instanceof ExternalResource && (late.field === 'address' || late.field === 'addresses')) {
          this.add('PLAN_TEMPLATE_UNRESOLVED', `${at} uses "${name}", but output "${late.output}" leads to external resource "${peer.name}", which has no deployed address`, where, node?.line, `use ovab.output.${late.output}.hostName in the template`);
        }
        continue;
      }
      const property = a.properties.get(name);
      const pWhere = `${where} > property "${name}"`;
      if (property?.hasValue || this.provided.has(`${where}\0${name}`)) continue;
      if (property?.required) {
        const key = `${where}\0${name}`;
        this.requiredUses.set(key, [...(this.requiredUses.get(key) ?? []), at]);
        continue;
      }
      const line = node?.properties.find((p) => p.name === name)?.line ?? node?.fileRefs.find((f) => f.name === name)?.line ?? node?.line;
      let hint: string;
      if (!property) hint = `the appliance has no property "${name}" (its template and metadata disagree): introspect it again`;
      else if (property.category === 'system') hint = 'it is a system property the plugin should have set: introspect again';
      else if (property.type === 'password') hint = `set it with abctl setPlanPassword --path ${path} --property ${name}`;
      else if (property.type === 'fileRef') hint = `give a file on <fileRef name="${name}" file="..."/> of appliance "${path}" in the plan`;
      else hint = `give it a value on <property name="${name}" value="..."/> of appliance "${path}" in the plan (or abctl setProperty)`;
      this.add('PLAN_TEMPLATE_UNRESOLVED', `${at} uses "${name}", which has no value`, pWhere, line, hint);
    }
    for (const [output, names] of unbound) {
      this.add(
        'PLAN_TEMPLATE_UNRESOLVED',
        `template "${source.name}" uses ${names.join(', ')}, but output "${output}" is not connected, so the deployment has nothing to bind ${names.length === 1 ? 'it' : 'them'} to`,
        `${where} > output "${output}"`,
        node?.line,
        `connect it: abctl connectEndpoints --assembly ${assemblyName} --from ${path}/${output} --to <member>/<input>`,
      );
    }
  }
}

/**
 * Every problem with `plan` for `assembly`: objects, properties and synthetic properties
 * the plan names but the assembly does not have (or that are read-only), values that do
 * not fit their type, instance counts out of bounds, bad hosts and mount targets, and
 * every required property left without a value by both the metadata and the plan.
 * An empty list means the plan can be used.
 */
export function validateDeploymentPlan(assembly: Assembly, plan: DeploymentPlan, opts: ValidateOptions = {}): PlanProblem[] {
  const c = new Checker(opts);
  const rootWhere = label('assembly', assembly.name);
  if (plan.assembly !== assembly.name) {
    c.add('PLAN_ASSEMBLY_MISMATCH', `the plan is for assembly "${plan.assembly}", not "${assembly.name}"`, rootWhere, plan.root.line, `use the plan made for "${assembly.name}", or run abctl createDeploymentPlan --assembly ${assembly.name}`);
  }
  c.node(plan.root, assembly, rootWhere, undefined);
  if (opts.templates?.size) c.templates(assembly, opts.templates, rootWhere);
  for (const m of findMissingRequired(assembly)) {
    const where = m.path.join(' > ');
    if (c.provided.has(`${where}\0${m.property}`)) continue;
    const found = lookupProperty(assembly, m.path, m.property);
    const system = found?.category === 'system';
    const uses = c.requiredUses.get(`${where}\0${m.property}`);
    c.add(
      'PLAN_REQUIRED_MISSING',
      `required property "${m.property}" has no value${uses ? ` (${uses.join('; ')} uses it)` : ''}`,
      describeMissing(m),
      undefined,
      system
        ? 'it is a system property: the plugin should have set it; introspect again'
        : found?.secret
          ? 'it is a password: set it in the plan with abctl setPlanPassword (from a file, $AB_PROPERTY_VALUE or a prompt; stored encrypted), or in the assembly with abctl setProperty'
          : 'give it a value in the plan (or with abctl setProperty)',
    );
  }
  return c.problems;
}

function linesText(lines: readonly number[]): string {
  const distinct = [...new Set(lines)];
  return `${distinct.length === 1 ? 'line' : 'lines'} ${distinct.join(', ')}`;
}

/** A property found by findMissingRequired (system ones cannot be fixed by the plan; passwords need setPlanPassword). */
function lookupProperty(assembly: Assembly, path: readonly string[], property: string): Property | undefined {
  // The path labels are `kind "name"`; the property set is reached by matching labels from the root.
  let sets: { where: string; set: PropertySet }[] = [];
  const walk = (m: Assembly | AssemblyMember, prefix: string) => {
    const where = prefix ? `${prefix} > ${label(modelKind(m), m.name)}` : label(modelKind(m), m.name);
    sets.push({ where, set: m.properties });
    if (m instanceof Assembly) m.members.forEach((x) => walk(x, where));
    else if (m instanceof AtomicAssembly) m.appliances.forEach((x) => walk(x, where));
    else if (m instanceof Appliance) {
      for (const i of m.inputs) sets.push({ where: `${where} > input "${i.name}"`, set: i.properties });
      for (const o of m.outputs) sets.push({ where: `${where} > output "${o.name}"`, set: o.properties });
      for (const f of m.interfaces.flatMap((i) => i.flatten())) sets.push({ where: `${where} > interface "${f.name}"`, set: f.properties });
    } else if (m instanceof ExternalResource) {
      for (const i of m.inputs) sets.push({ where: `${where} > input "${i.name}"`, set: i.properties });
    }
  };
  walk(assembly, '');
  const target = path.join(' > ');
  const found = sets.find((s) => s.where === target);
  sets = [];
  return found?.set.get(property);
}

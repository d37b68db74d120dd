/**
 * An appliance: one deployable unit (one instance per scaled copy). Plugins build it
 * during dehydration; users later edit user properties and file sets. The creator (the
 * plugin that made it) is fixed at construction because the framework uses it to pick the
 * plugin for rehydration.
 */
import { UserError } from '../errors.js';
import { isPrivileged, type Actor } from './actor.js';
import { ContentResource, type ContentResourceInit, type ContentResourcePlain } from './content-resources.js';
import { Input, Output, type InputInit, type InputPlain, type OutputInit, type OutputPlain } from './endpoints.js';
import { resolveFileRef } from './file-refs.js';
import { checkFileSetEdit, FileSetDefinition, type FileSetChanges, type FileSetDefinitionInit, type FileSetDefinitionPlain } from './file-sets.js';
import { defaultInterface, NetworkInterface, type NetworkInterfaceInit, type NetworkInterfacePlain } from './interfaces.js';
import { NamedList } from './named-list.js';
import { checkParticipants, readParticipants, type Participant, type ParticipantPlain } from './participants.js';
import { checkApplianceType, checkObjectName } from './names.js';
import { asObject, readArray, readOptionalNumber, readOptionalString, readString, type PlainObject } from './plain.js';
import { adoptProperties, readProperties, type Property, type PropertyInit, type PropertyPlain, type PropertySet } from './properties.js';
import { INSPECT } from './redaction.js';
import { checkScalability, isClusteredScalability, scalabilityFromPlain, SINGLE_INSTANCE, type Scalability } from './scalability.js';
import { label, within } from './where.js';

/** Minimums an instance needs; either may be left out. */
export interface ResourceRequirements {
  /** Memory in MiB, a whole number > 0. */
  readonly memoryMiB?: number;
  /** Virtual CPUs, a whole number > 0. */
  readonly cpus?: number;
}

export interface ApplianceInit {
  readonly name: string;
  /** Plugin or extension name; set by the framework. */
  readonly creator: string;
  /** The plugins whose dehydration made it, root first; set by the framework (none on older records). */
  readonly participants?: readonly Participant[] | undefined;
  /** Default: the creator. Must not start with `External`. */
  readonly type?: string;
  readonly description?: string;
  readonly resources?: ResourceRequirements;
  /** Default: a single instance (1/1/1/1). */
  readonly scalability?: Scalability;
  /** Default: one physical `eth0`. */
  readonly interfaces?: readonly (NetworkInterface | NetworkInterfaceInit)[];
  readonly inputs?: readonly (Input | InputInit)[];
  readonly outputs?: readonly (Output | OutputInit)[];
  readonly properties?: Iterable<Property | PropertyInit>;
  readonly contentResources?: readonly (ContentResource | ContentResourceInit)[];
  readonly fileSets?: readonly (FileSetDefinition | FileSetDefinitionInit)[];
  /** Set on siblings in an atomic assembly: the appliance whose file sets this one uses. */
  readonly fileSetsFrom?: string | undefined;
}

export interface AppliancePlain {
  kind: 'appliance';
  name: string;
  creator: string;
  type: string;
  description: string;
  resources: { memoryMiB?: number; cpus?: number };
  scalability: { min: number; target: number; max: number; absoluteMax: number };
  interfaces: NetworkInterfacePlain[];
  inputs: InputPlain[];
  outputs: OutputPlain[];
  properties: PropertyPlain[];
  contentResources: ContentResourcePlain[];
  fileSets: FileSetDefinitionPlain[];
  fileSetsFrom?: string;
  /** Left out when empty, so records from before the list read and rewrite unchanged. */
  participants?: ParticipantPlain[];
}

function checkResources(r: ResourceRequirements, where: string): ResourceRequirements {
  const out: { memoryMiB?: number; cpus?: number } = {};
  for (const [field, unit] of [['memoryMiB', 'MiB'], ['cpus', 'CPUs']] as const) {
    const v = r[field];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0) {
      throw new UserError('RESOURCES_INVALID', `resource requirement ${field} must be a whole number of ${unit} greater than 0, got ${v}`, { where });
    }
    out[field] = v;
  }
  return Object.freeze(out);
}

function notEditable(what: string, where: string): UserError {
  return new UserError('APPLIANCE_NOT_EDITABLE', `users cannot ${what}: the plugin that created the appliance defines its shape`, { where });
}

export class Appliance {
  readonly name: string;
  readonly creator: string;
  readonly participants: readonly Participant[];
  readonly type: string;
  readonly properties: PropertySet;
  readonly fileSetsFrom: string | undefined;
  #description: string;
  #resources: ResourceRequirements;
  #scalability: Scalability;
  readonly #interfaces = new NamedList<NetworkInterface>('interface', 'appliance');
  readonly #inputs = new NamedList<Input>('input', 'appliance');
  readonly #outputs = new NamedList<Output>('output', 'appliance');
  readonly #contentResources = new NamedList<ContentResource>('content resource', 'appliance');
  readonly #fileSets = new NamedList<FileSetDefinition>('file set definition', 'appliance');

  constructor(init: ApplianceInit) {
    const where = label('appliance', init.name);
    checkObjectName('appliance', init.name, where);
    this.name = init.name;
    if (typeof init.creator !== 'string' || init.creator.trim() === '') {
      throw new UserError('APPLIANCE_INVALID', 'appliance creator (the plugin name) must be given', { where });
    }
    this.creator = init.creator;
    this.participants = checkParticipants(init.participants, where);
    this.type = init.type ?? init.creator;
    checkApplianceType(this.type, { external: false, where });
    this.#description = init.description ?? '';
    this.#resources = checkResources(init.resources ?? {}, where);
    this.#scalability = checkScalability(init.scalability ?? SINGLE_INSTANCE, where);
    this.properties = adoptProperties(where, init.properties);
    if (init.fileSetsFrom !== undefined) checkObjectName('appliance', init.fileSetsFrom, where);
    this.fileSetsFrom = init.fileSetsFrom;

    const interfaces = init.interfaces?.length ? init.interfaces : [defaultInterface()];
    for (const i of interfaces) this.addInterface(i, 'framework');
    for (const i of init.inputs ?? []) this.addInput(i, 'framework');
    for (const o of init.outputs ?? []) this.addOutput(o, 'framework');
    for (const c of init.contentResources ?? []) this.addContentResource(c, 'framework');
    for (const f of init.fileSets ?? []) this.addFileSet(f, 'framework');
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  get where(): string {
    return label('appliance', this.name);
  }

  get description(): string {
    return this.#description;
  }

  set description(text: string) {
    this.#description = text;
  }

  get resources(): ResourceRequirements {
    return this.#resources;
  }

  setResources(resources: ResourceRequirements): void {
    this.#resources = checkResources(resources, this.where);
  }

  get scalability(): Scalability {
    return this.#scalability;
  }

  /** Re-checks shared file sets: dropping to one instance would strand cluster-only ones. */
  setScalability(s: Scalability): void {
    const next = checkScalability(s, this.where);
    if (!isClusteredScalability(next)) {
      const stranded = this.#fileSets.list().find((f) => f.needsCluster);
      if (stranded) {
        throw new UserError(
          'FILESET_SHARED_UNSUPPORTED',
          `scalability max ${next.max} makes the appliance non-clustered, but file set "${stranded.name}" (shared ${stranded.sharedType}${stranded.captured ? ', captured' : ''}) needs a clustered appliance`,
          { where: this.where, hint: 'keep max above 1, or change that file set first' },
        );
      }
    }
    this.#scalability = next;
  }

  /** Clustered (scalable): more than one instance may run (max > 1). */
  get isClustered(): boolean {
    return isClusteredScalability(this.#scalability);
  }

  /** True for siblings in an atomic assembly (file sets come from another appliance). */
  get isSibling(): boolean {
    return this.fileSetsFrom !== undefined;
  }

  // ------------------------------------------------------------ interfaces

  get interfaces(): readonly NetworkInterface[] {
    return this.#interfaces.list();
  }

  /** Any interface by name, virtual ones included. */
  findInterface(name: string): NetworkInterface | undefined {
    for (const i of this.#interfaces) for (const f of i.flatten()) if (f.name === name) return f;
    return undefined;
  }

  addInterface(iface: NetworkInterface | NetworkInterfaceInit, actor: Actor): NetworkInterface {
    if (!isPrivileged(actor)) throw notEditable('add interfaces', this.where);
    const i = within(this.where, () => (iface instanceof NetworkInterface ? iface : new NetworkInterface(iface)));
    for (const f of i.flatten()) {
      if (this.findInterface(f.name)) {
        throw new UserError('NAME_DUPLICATE', `an interface named "${f.name}" already exists; interface names are unique within an appliance`, { where: this.where });
      }
    }
    if (i.kind !== 'physical') {
      throw new UserError('INTERFACE_INVALID', `interface "${i.name}" is virtual; add it as a child of a physical interface`, { where: this.where });
    }
    return this.#interfaces.add(i, this.where);
  }

  /** Removes a physical interface (and its virtual children); the last one stays, and so do ones inputs listen on. */
  removeInterface(name: string, actor: Actor): void {
    if (!isPrivileged(actor)) throw notEditable('remove interfaces', this.where);
    const i = this.#interfaces.require(name, 'INTERFACE_UNKNOWN', this.where);
    if (this.#interfaces.size === 1) {
      throw new UserError('INTERFACE_REQUIRED', `interface "${name}" is the appliance's only interface; every appliance needs at least one`, {
        where: this.where,
        hint: 'add the replacement interface first',
      });
    }
    const names = new Set(i.flatten().map((f) => f.name));
    const user = this.#inputs.list().find((inp) => names.has(inp.interfaceName));
    if (user) {
      throw new UserError('INTERFACE_IN_USE', `interface "${user.interfaceName}" cannot be removed: input "${user.name}" listens on it`, { where: this.where });
    }
    this.#interfaces.delete(name);
  }

  // ------------------------------------------------------------ endpoints

  get inputs(): readonly Input[] {
    return this.#inputs.list();
  }

  get outputs(): readonly Output[] {
    return this.#outputs.list();
  }

  getInput(name: string): Input | undefined {
    return this.#inputs.get(name);
  }

  getOutput(name: string): Output | undefined {
    return this.#outputs.get(name);
  }

  /** Input names are unique among inputs, output names among outputs. */
  addInput(input: Input | InputInit, actor: Actor): Input {
    if (!isPrivileged(actor)) throw notEditable('add inputs', this.where);
    const i = within(this.where, () => (input instanceof Input ? input : new Input(input)));
    const where = `${this.where} > ${label('input', i.name)}`;
    this.#inputs.checkFree(i.name, this.where);
    if (i.port === undefined) {
      throw new UserError('ENDPOINT_PORT_INVALID', 'an appliance input needs a port (1..65535)', { where });
    }
    if (i.portProperty !== undefined && !this.properties.has(i.portProperty)) {
      throw new UserError('ENDPOINT_PORT_INVALID', `input portProperty "${i.portProperty}" is not a property of the appliance`, {
        where,
        hint: `name the property that configures the port; properties: ${this.properties.list().map((p) => p.name).join(', ') || 'none'}`,
      });
    }
    if (!this.findInterface(i.interfaceName)) {
      throw new UserError('INTERFACE_UNKNOWN', `input interface "${i.interfaceName}" does not exist on the appliance`, {
        where,
        hint: `interfaces: ${this.#interfaces.list().flatMap((x) => x.flatten().map((f) => f.name)).join(', ')}`,
      });
    }
    return this.#inputs.add(i, this.where);
  }

  addOutput(output: Output | OutputInit, actor: Actor): Output {
    if (!isPrivileged(actor)) throw notEditable('add outputs', this.where);
    const o = within(this.where, () => (output instanceof Output ? output : new Output(output)));
    return this.#outputs.add(o, this.where);
  }

  removeInput(name: string, actor: Actor): void {
    if (!isPrivileged(actor)) throw notEditable('remove inputs', this.where);
    this.#inputs.require(name, 'ENDPOINT_UNKNOWN', this.where);
    this.#inputs.delete(name);
  }

  removeOutput(name: string, actor: Actor): void {
    if (!isPrivileged(actor)) throw notEditable('remove outputs', this.where);
    this.#outputs.require(name, 'ENDPOINT_UNKNOWN', this.where);
    this.#outputs.delete(name);
  }

  // ------------------------------------------------------------ content resources

  get contentResources(): readonly ContentResource[] {
    return this.#contentResources.list();
  }

  getContentResource(name: string): ContentResource | undefined {
    return this.#contentResources.get(name);
  }

  addContentResource(resource: ContentResource | ContentResourceInit, actor: Actor): ContentResource {
    if (!isPrivileged(actor)) throw notEditable('add content resources', this.where);
    const r = within(this.where, () => (resource instanceof ContentResource ? resource : new ContentResource(resource)));
    return this.#contentResources.add(r, this.where);
  }

  /** Refused while a fileRef property points at it (the reference would dangle). */
  removeContentResource(name: string, actor: Actor): void {
    if (!isPrivileged(actor)) throw notEditable('remove content resources', this.where);
    this.#contentResources.require(name, 'CONTENT_RESOURCE_UNKNOWN', this.where);
    const ref = this.properties.list().find((p) => {
      if (p.type !== 'fileRef' || p.value === undefined) return false;
      const t = resolveFileRef(p.value);
      return t.kind === 'contentResource' && t.name === name;
    });
    if (ref) {
      throw new UserError('CONTENT_RESOURCE_IN_USE', `content resource "${name}" is referenced by fileRef property "${ref.name}"`, {
        where: this.where,
        hint: 'remove or change that property first',
      });
    }
    this.#contentResources.delete(name);
  }

  /**
   * Exposes a content resource as a user fileRef property (value `contentresource:<name>`),
   * so a user can supply another copy of the file in the deployment plan.
   */
  exposeContentResource(name: string, propertyName: string, opts: { required?: boolean; description?: string } = {}): Property {
    const r = this.#contentResources.require(name, 'CONTENT_RESOURCE_UNKNOWN', this.where);
    return this.properties.add(
      { name: propertyName, type: 'fileRef', category: 'user', required: opts.required ?? false, description: opts.description ?? r.description, value: r.uri },
      'plugin',
    );
  }

  // ------------------------------------------------------------ file sets

  get fileSets(): readonly FileSetDefinition[] {
    return this.#fileSets.list();
  }

  getFileSet(name: string): FileSetDefinition | undefined {
    return this.#fileSets.get(name);
  }

  #checkFileSetPlacement(def: FileSetDefinition): void {
    if (def.needsCluster && !this.isClustered) {
      const what = def.sharedType === 'RAW' ? 'RAW shared file sets' : `captured ${def.sharedType ?? ''} shared file sets`;
      throw new UserError(
        'FILESET_SHARED_UNSUPPORTED',
        `file set "${def.name}": ${what} can only be shared by instances of a clustered appliance, and this appliance has scalability max ${this.#scalability.max}`,
        { where: this.where, hint: 'raise scalability max above 1, make the file set local, or use a not-captured NFS volume' },
      );
    }
  }

  #checkNotSibling(): void {
    if (this.fileSetsFrom !== undefined) {
      throw new UserError('FILESET_SIBLING', `this appliance shares the file sets of "${this.fileSetsFrom}" (a sibling in an atomic assembly) and has none of its own`, {
        where: this.where,
        hint: `change the file sets of "${this.fileSetsFrom}" instead`,
      });
    }
  }

  /** Users may add user file sets only. Roots and names are unique per appliance. */
  addFileSet(definition: FileSetDefinition | FileSetDefinitionInit, actor: Actor): FileSetDefinition {
    this.#checkNotSibling();
    const def = within(this.where, () => (definition instanceof FileSetDefinition ? definition : new FileSetDefinition(definition)));
    if (actor === 'user' && def.category === 'system') {
      throw new UserError('FILESET_READ_ONLY', `users cannot add system file set "${def.name}"; system file sets come from plugins`, { where: this.where });
    }
    this.#fileSets.checkFree(def.name, this.where);
    const sameRoot = this.#fileSets.list().find((f) => f.root === def.root);
    if (sameRoot) {
      throw new UserError('NAME_DUPLICATE', `file set "${def.name}" has the same root ${def.root} as file set "${sameRoot.name}"`, { where: this.where });
    }
    this.#checkFileSetPlacement(def);
    return this.#fileSets.add(def, this.where);
  }

  /** Applies changes after checking who may make them and that the result still fits the appliance. */
  updateFileSet(name: string, changes: FileSetChanges, actor: Actor): FileSetDefinition {
    this.#checkNotSibling();
    const current = this.#fileSets.require(name, 'FILESET_UNKNOWN', this.where);
    checkFileSetEdit(current, changes, actor, `${this.where} > ${label('file set definition', name)}`);
    const next = within(this.where, () => current.with(changes));
    if (changes.root !== undefined && this.#fileSets.list().some((f) => f.name !== name && f.root === next.root)) {
      throw new UserError('NAME_DUPLICATE', `another file set already has root ${next.root}`, { where: this.where });
    }
    this.#checkFileSetPlacement(next);
    this.#fileSets.replace(next);
    return next;
  }

  /** Users may remove user file sets only. */
  removeFileSet(name: string, actor: Actor): void {
    const current = this.#fileSets.require(name, 'FILESET_UNKNOWN', this.where);
    if (actor === 'user' && current.category === 'system') {
      throw new UserError('FILESET_READ_ONLY', `system file set "${name}" cannot be removed by users; only its scope and shared type can change`, { where: this.where });
    }
    this.#fileSets.delete(name);
  }

  // ------------------------------------------------------------ plain form

  toPlain(): AppliancePlain {
    const plain: AppliancePlain = {
      kind: 'appliance',
      name: this.name,
      creator: this.creator,
      // Next to the creator, so a reader of the XML sees who made it first; left out when empty.
      ...(this.participants.length > 0 ? { participants: this.participants.map((p) => ({ ...p })) } : {}),
      type: this.type,
      description: this.#description,
      resources: { ...this.#resources },
      scalability: { ...this.#scalability },
      interfaces: this.interfaces.map((i) => i.toPlain()),
      inputs: this.inputs.map((i) => i.toPlain()),
      outputs: this.outputs.map((o) => o.toPlain()),
      properties: this.properties.toPlain(),
      contentResources: this.contentResources.map((c) => c.toPlain()),
      fileSets: this.fileSets.map((f) => f.toPlain()),
    };
    if (this.fileSetsFrom !== undefined) plain.fileSetsFrom = this.fileSetsFrom;
    return plain;
  }

  /** Printable form: password values masked. */
  toJSON(): AppliancePlain {
    return {
      ...this.toPlain(),
      // Always there in printed form (empty: a record from before the list, made by its creator alone).
      participants: this.participants.map((q) => ({ ...q })),
      interfaces: this.interfaces.map((i) => i.toJSON()),
      inputs: this.inputs.map((i) => i.toJSON()),
      outputs: this.outputs.map((o) => o.toJSON()),
      properties: this.properties.toJSON(),
    };
  }

  toString(): string {
    return `appliance ${this.name} (${this.type}, by ${this.creator})`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  /** Rebuilds and re-checks an appliance from its plain form (as the framework). */
  static fromPlain(value: unknown): Appliance {
    const o = asObject(value, 'appliance');
    const name = readString(o, 'name');
    const where = label('appliance', name);
    const init = within(where, () => readApplianceFields(o));
    return new Appliance({ name, ...init });
  }
}

function readApplianceFields(o: PlainObject): Omit<ApplianceInit, 'name'> {
  if (o['kind'] !== undefined && o['kind'] !== 'appliance') {
    throw new UserError('METADATA_INVALID', `field "kind" must be "appliance", got ${JSON.stringify(o['kind'])}`);
  }
  const res = asObject(o['resources'] ?? {}, 'field "resources"');
  const resources: { memoryMiB?: number; cpus?: number } = {};
  const memoryMiB = readOptionalNumber(res, 'memoryMiB');
  const cpus = readOptionalNumber(res, 'cpus');
  if (memoryMiB !== undefined) resources.memoryMiB = memoryMiB;
  if (cpus !== undefined) resources.cpus = cpus;
  return {
    creator: readString(o, 'creator'),
    type: readString(o, 'type'),
    description: readOptionalString(o, 'description') ?? '',
    resources,
    scalability: scalabilityFromPlain(o['scalability']),
    interfaces: readArray(o, 'interfaces').map((i) => NetworkInterface.fromPlain(i)),
    inputs: readArray(o, 'inputs').map((i) => Input.fromPlain(i)),
    outputs: readArray(o, 'outputs').map((i) => Output.fromPlain(i)),
    properties: readProperties(o, 'properties', undefined),
    contentResources: readArray(o, 'contentResources').map((c) => ContentResource.fromPlain(c)),
    fileSets: readArray(o, 'fileSets').map((f) => FileSetDefinition.fromPlain(f)),
    fileSetsFrom: readOptionalString(o, 'fileSetsFrom'),
    participants: readParticipants(o),
  };
}

/**
 * Assemblies. An `Assembly` is made by users: a container of appliances, atomic
 * assemblies, sub-assemblies and external resources, with connections and vnets. An
 * `AtomicAssembly` is made by one plugin: its appliances share the first appliance's file
 * sets (the others are siblings) and users cannot change which appliances it holds or
 * how they are connected.
 */
import { UserError } from '../errors.js';
import { isPrivileged, type Actor } from './actor.js';
import { Appliance, type ApplianceInit, type AppliancePlain } from './appliance.js';
import {
  checkConnection,
  connectionToPlain,
  formatEndpointRef,
  resolveOutput,
  sameRef,
  toEndpointRef,
  type Connection,
  type ConnectionPlain,
  type EndpointRef,
} from './connections.js';
import { ContentResource, type ContentResourceInit, type ContentResourcePlain } from './content-resources.js';
import { ExternalResource, type ExternalResourcePlain } from './external-resource.js';
import { NamedList } from './named-list.js';
import { checkParticipants, readParticipants, type Participant, type ParticipantPlain } from './participants.js';
import { checkObjectName } from './names.js';
import { asObject, readArray, readOptionalString, readString, type PlainObject } from './plain.js';
import { adoptProperties, readProperties, type Property, type PropertyInit, type PropertyPlain, type PropertySet } from './properties.js';
import { INSPECT } from './redaction.js';
import { DEFAULT_VNET_NAME, Vnet, type VnetInit, type VnetPlain } from './vnets.js';
import { label, within } from './where.js';

export type EndpointRefLike = EndpointRef | string;

export interface ConnectionInit {
  readonly from: EndpointRefLike;
  readonly to: EndpointRefLike;
}

function readConnections(o: PlainObject): ConnectionInit[] {
  return readArray(o, 'connections').map((c, i) => {
    const co = asObject(c, `connection #${i + 1}`);
    return { from: readString(co, 'from'), to: readString(co, 'to') };
  });
}

function connectionWhere(owner: string, c: Connection): string {
  return `${owner} > connection "${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}"`;
}

// ================================================================== atomic assembly

export interface AtomicAssemblyInit {
  readonly name: string;
  /** Plugin that made it; set by the framework. */
  readonly creator: string;
  /** The plugins whose dehydration made it, root first; set by the framework (none on older records). */
  readonly participants?: readonly Participant[] | undefined;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
  /** The first one owns the file sets; the rest must be its siblings (`fileSetsFrom` = first's name). */
  readonly appliances?: readonly (Appliance | ApplianceInit)[];
  readonly connections?: readonly ConnectionInit[];
  readonly contentResources?: readonly (ContentResource | ContentResourceInit)[];
}

export interface AtomicAssemblyPlain {
  kind: 'atomicAssembly';
  name: string;
  creator: string;
  description: string;
  properties: PropertyPlain[];
  appliances: AppliancePlain[];
  connections: ConnectionPlain[];
  contentResources: ContentResourcePlain[];
  /** Left out when empty (records from before the list). */
  participants?: ParticipantPlain[];
}

function atomicLocked(what: string, where: string): UserError {
  return new UserError('ATOMIC_NOT_EDITABLE', `users cannot ${what}: an atomic assembly's appliances and connections are fixed by the plugin that made it`, {
    where,
    hint: 'edit the assembly that contains it instead (connect its endpoints to other members)',
  });
}

export class AtomicAssembly {
  readonly name: string;
  readonly creator: string;
  readonly participants: readonly Participant[];
  readonly properties: PropertySet;
  #description: string;
  readonly #appliances = new NamedList<Appliance>('appliance', 'atomic assembly');
  readonly #contentResources = new NamedList<ContentResource>('content resource', 'atomic assembly');
  #connections: Connection[] = [];

  constructor(init: AtomicAssemblyInit) {
    const where = label('atomic assembly', init.name);
    checkObjectName('atomic assembly', init.name, where);
    this.name = init.name;
    if (typeof init.creator !== 'string' || init.creator.trim() === '') {
      throw new UserError('ASSEMBLY_INVALID', 'atomic assembly creator (the plugin name) must be given', { where });
    }
    this.creator = init.creator;
    this.participants = checkParticipants(init.participants, where);
    this.#description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties);
    for (const a of init.appliances ?? []) this.addAppliance(a, 'framework');
    for (const c of init.connections ?? []) this.connect(c.from, c.to, 'framework');
    for (const r of init.contentResources ?? []) this.addContentResource(r, 'framework');
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  get where(): string {
    return label('atomic assembly', this.name);
  }

  get description(): string {
    return this.#description;
  }

  set description(text: string) {
    this.#description = text;
  }

  get appliances(): readonly Appliance[] {
    return this.#appliances.list();
  }

  /** The appliance whose file sets all the others share. */
  get primary(): Appliance | undefined {
    return this.#appliances.list()[0];
  }

  getAppliance(name: string): Appliance | undefined {
    return this.#appliances.get(name);
  }

  /** For connection paths: an atomic assembly's members are its appliances. */
  getMember(name: string): Appliance | undefined {
    return this.#appliances.get(name);
  }

  /**
   * The first appliance owns the file sets; every later one must be its sibling (see
   * createSibling). Users cannot add appliances.
   */
  addAppliance(appliance: Appliance | ApplianceInit, actor: Actor): Appliance {
    if (!isPrivileged(actor)) throw atomicLocked('add appliances', this.where);
    const a = within(this.where, () => (appliance instanceof Appliance ? appliance : new Appliance(appliance)));
    this.#appliances.checkFree(a.name, this.where);
    const first = this.primary;
    if (first === undefined && a.fileSetsFrom !== undefined) {
      throw new UserError('ATOMIC_SIBLING_INVALID', `appliance "${a.name}" is the first in the atomic assembly, so it owns the file sets and cannot take them from "${a.fileSetsFrom}"`, {
        where: this.where,
      });
    }
    if (first !== undefined && a.fileSetsFrom !== first.name) {
      throw new UserError(
        'ATOMIC_SIBLING_INVALID',
        `appliance "${a.name}" must be a sibling of "${first.name}": all appliances of an atomic assembly share the first one's file sets`,
        { where: this.where, hint: 'create it with createSibling()' },
      );
    }
    return this.#appliances.add(a, this.where);
  }

  /** Adds an appliance that shares the first appliance's file sets. */
  createSibling(init: Omit<ApplianceInit, 'fileSetsFrom' | 'fileSets'>, actor: Actor): Appliance {
    const first = this.primary;
    if (first === undefined) {
      throw new UserError('ATOMIC_SIBLING_INVALID', 'an atomic assembly needs its first appliance before siblings can be created', { where: this.where });
    }
    return this.addAppliance({ ...init, fileSetsFrom: first.name }, actor);
  }

  /** Plugins only; the first appliance stays while siblings depend on it. Connections to it go too. */
  removeAppliance(name: string, actor: Actor): void {
    if (!isPrivileged(actor)) throw atomicLocked('remove appliances', this.where);
    this.#appliances.require(name, 'MEMBER_UNKNOWN', this.where);
    if (this.primary?.name === name && this.#appliances.size > 1) {
      throw new UserError('ATOMIC_SIBLING_INVALID', `appliance "${name}" owns the file sets its siblings share; remove the siblings first`, { where: this.where });
    }
    this.#connections = this.#connections.filter((c) => c.from.path[0] !== name && c.to.path[0] !== name);
    this.#appliances.delete(name);
  }

  get connections(): readonly Connection[] {
    return [...this.#connections];
  }

  /** Between two of its appliances (paths of length 1). Plugins only. */
  connect(from: EndpointRefLike, to: EndpointRefLike, actor: Actor): Connection {
    if (!isPrivileged(actor)) throw atomicLocked('change connections', this.where);
    const c: Connection = within(this.where, () => ({ from: toEndpointRef(from), to: toEndpointRef(to) }));
    const where = connectionWhere(this.where, c);
    if (c.from.path.length !== 1 || c.to.path.length !== 1) {
      throw new UserError('CONNECTION_REF_INVALID', 'connections inside an atomic assembly join two of its appliances (member/endpoint)', { where });
    }
    checkConnection(this, c, this.#connections, where);
    this.#connections.push(c);
    return c;
  }

  disconnect(from: EndpointRefLike, actor: Actor): Connection {
    if (!isPrivileged(actor)) throw atomicLocked('change connections', this.where);
    const ref = within(this.where, () => toEndpointRef(from));
    const found = this.#connections.find((c) => sameRef(c.from, ref));
    if (!found) throw new UserError('CONNECTION_UNKNOWN', `output "${formatEndpointRef(ref)}" is not connected`, { where: this.where });
    this.#connections = this.#connections.filter((c) => c !== found);
    return found;
  }

  get contentResources(): readonly ContentResource[] {
    return this.#contentResources.list();
  }

  addContentResource(resource: ContentResource | ContentResourceInit, actor: Actor): ContentResource {
    if (!isPrivileged(actor)) throw atomicLocked('add content resources', this.where);
    const r = within(this.where, () => (resource instanceof ContentResource ? resource : new ContentResource(resource)));
    return this.#contentResources.add(r, this.where);
  }

  toPlain(): AtomicAssemblyPlain {
    const plain: AtomicAssemblyPlain = {
      kind: 'atomicAssembly',
      name: this.name,
      creator: this.creator,
      ...(this.participants.length > 0 ? { participants: this.participants.map((p) => ({ ...p })) } : {}),
      description: this.#description,
      properties: this.properties.toPlain(),
      appliances: this.appliances.map((a) => a.toPlain()),
      connections: this.#connections.map(connectionToPlain),
      contentResources: this.contentResources.map((r) => r.toPlain()),
    };
    return plain;
  }

  toJSON(): AtomicAssemblyPlain {
    return { ...this.toPlain(), participants: this.participants.map((q) => ({ ...q })), properties: this.properties.toJSON(), appliances: this.appliances.map((a) => a.toJSON()) };
  }

  toString(): string {
    return `atomic assembly ${this.name} (by ${this.creator}, ${this.#appliances.size} appliances)`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): AtomicAssembly {
    const o = asObject(value, 'atomic assembly');
    const name = readString(o, 'name');
    const init = within(label('atomic assembly', name), () => {
      if (o['kind'] !== undefined && o['kind'] !== 'atomicAssembly') {
        throw new UserError('METADATA_INVALID', `field "kind" must be "atomicAssembly", got ${JSON.stringify(o['kind'])}`);
      }
      return {
        creator: readString(o, 'creator'),
        description: readOptionalString(o, 'description') ?? '',
        properties: readProperties(o, 'properties', undefined),
        appliances: readArray(o, 'appliances').map((a) => Appliance.fromPlain(a)),
        connections: readConnections(o),
        contentResources: readArray(o, 'contentResources').map((r) => ContentResource.fromPlain(r)),
        participants: readParticipants(o),
      };
    });
    return new AtomicAssembly({ name, ...init });
  }
}

// ================================================================== assembly

export type AssemblyMember = Appliance | AtomicAssembly | Assembly | ExternalResource;
export type AssemblyMemberPlain = AppliancePlain | AtomicAssemblyPlain | AssemblyPlain | ExternalResourcePlain;

export interface AssemblyInit {
  readonly name: string;
  readonly description?: string;
  readonly properties?: Iterable<Property | PropertyInit>;
  readonly members?: readonly AssemblyMember[];
  readonly connections?: readonly ConnectionInit[];
  /** Default: one vnet named `default`. */
  readonly vnets?: readonly (Vnet | VnetInit)[];
}

export interface AssemblyPlain {
  kind: 'assembly';
  name: string;
  description: string;
  properties: PropertyPlain[];
  members: AssemblyMemberPlain[];
  connections: ConnectionPlain[];
  vnets: VnetPlain[];
}

/** `appliance`, `atomic assembly`, ... for messages. */
export function memberKind(m: AssemblyMember): string {
  if (m instanceof Appliance) return 'appliance';
  if (m instanceof AtomicAssembly) return 'atomic assembly';
  if (m instanceof ExternalResource) return 'external resource';
  return 'assembly';
}

export class Assembly {
  readonly name: string;
  readonly properties: PropertySet;
  #description: string;
  readonly #members = new NamedList<AssemblyMember>('member', 'assembly');
  readonly #vnets = new NamedList<Vnet>('vnet', 'assembly');
  #connections: Connection[] = [];

  constructor(init: AssemblyInit) {
    const where = label('assembly', init.name);
    checkObjectName('assembly', init.name, where);
    this.name = init.name;
    this.#description = init.description ?? '';
    this.properties = adoptProperties(where, init.properties, 'user');
    for (const m of init.members ?? []) this.addMember(m);
    for (const c of init.connections ?? []) this.connect(c.from, c.to, 'framework');
    const vnets = init.vnets?.length ? init.vnets : [{ name: DEFAULT_VNET_NAME }];
    for (const v of vnets) this.addVnet(v);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  get where(): string {
    return label('assembly', this.name);
  }

  get description(): string {
    return this.#description;
  }

  set description(text: string) {
    this.#description = text;
  }

  // ------------------------------------------------------------ members

  get members(): readonly AssemblyMember[] {
    return this.#members.list();
  }

  getMember(name: string): AssemblyMember | undefined {
    return this.#members.get(name);
  }

  get appliances(): Appliance[] {
    return this.members.filter((m): m is Appliance => m instanceof Appliance);
  }

  get atomicAssemblies(): AtomicAssembly[] {
    return this.members.filter((m): m is AtomicAssembly => m instanceof AtomicAssembly);
  }

  get subAssemblies(): Assembly[] {
    return this.members.filter((m): m is Assembly => m instanceof Assembly);
  }

  get externalResources(): ExternalResource[] {
    return this.members.filter((m): m is ExternalResource => m instanceof ExternalResource);
  }

  /** True when `other` is this assembly or nested anywhere inside it. */
  contains(other: Assembly): boolean {
    if (other === this) return true;
    return this.subAssemblies.some((s) => s.contains(other));
  }

  /** Member names are unique across all kinds; an assembly cannot contain itself. */
  addMember(member: AssemblyMember): AssemblyMember {
    this.#members.checkFree(member.name, this.where);
    if (member instanceof Assembly && member.contains(this)) {
      throw new UserError('ASSEMBLY_CYCLE', `assembly "${member.name}" cannot be added: it would contain itself`, { where: this.where });
    }
    return this.#members.add(member, this.where);
  }

  /** Removes a member and the connections that touch it; returns those connections. */
  removeMember(name: string): Connection[] {
    this.#members.require(name, 'MEMBER_UNKNOWN', this.where);
    const touching = (c: Connection) => c.from.path[0] === name || c.to.path[0] === name;
    const removed = this.#connections.filter(touching);
    this.#connections = this.#connections.filter((c) => !touching(c));
    this.#members.delete(name);
    return removed;
  }

  /**
   * Creates an external resource seeded from the output's connection properties, adds it
   * and connects the output to it.
   */
  addExternalResourceFor(output: EndpointRefLike, name: string, actor: Actor, opts: { type?: string; description?: string } = {}): ExternalResource {
    const ref = within(this.where, () => toEndpointRef(output));
    const out = within(this.where, () => resolveOutput(this, ref));
    const ext = within(this.where, () => ExternalResource.forOutput(name, out, opts));
    this.addMember(ext);
    try {
      this.connect(ref, { path: [name], endpoint: out.name }, actor);
    } catch (err) {
      this.#members.delete(name);
      throw err;
    }
    return ext;
  }

  // ------------------------------------------------------------ connections

  get connections(): readonly Connection[] {
    return [...this.#connections];
  }

  /** Connections of this assembly and every nested one, with refs relative to this assembly. */
  allConnections(): Connection[] {
    const out = [...this.#connections];
    for (const m of this.members) {
      if (m instanceof Assembly || m instanceof AtomicAssembly) {
        const nested = m instanceof Assembly ? m.allConnections() : m.connections;
        for (const c of nested) {
          out.push({ from: { path: [m.name, ...c.from.path], endpoint: c.from.endpoint }, to: { path: [m.name, ...c.to.path], endpoint: c.to.endpoint } });
        }
      }
    }
    return out;
  }

  /**
   * Output -> input. Both ends must exist among the members (paths may go into
   * sub-assemblies and atomic assemblies), be compatible, and the output must be free.
   * Users cannot join two endpoints of the same atomic assembly: that would change its
   * connections.
   */
  connect(from: EndpointRefLike, to: EndpointRefLike, actor: Actor): Connection {
    const c: Connection = within(this.where, () => ({ from: toEndpointRef(from), to: toEndpointRef(to) }));
    const where = connectionWhere(this.where, c);
    const head = c.from.path[0];
    if (actor === 'user' && head !== undefined && head === c.to.path[0] && this.getMember(head) instanceof AtomicAssembly) {
      throw atomicLocked(`connect two endpoints inside atomic assembly "${head}"`, where);
    }
    checkConnection(this, c, this.allConnections(), where);
    this.#connections.push(c);
    return c;
  }

  /** Removes the connection starting at `from`. */
  disconnect(from: EndpointRefLike): Connection {
    const ref = within(this.where, () => toEndpointRef(from));
    const found = this.#connections.find((c) => sameRef(c.from, ref));
    if (!found) {
      const nested = this.allConnections().some((c) => sameRef(c.from, ref));
      throw new UserError(
        nested ? 'ATOMIC_NOT_EDITABLE' : 'CONNECTION_UNKNOWN',
        nested ? `output "${formatEndpointRef(ref)}" is connected inside a member; change it there` : `output "${formatEndpointRef(ref)}" is not connected in this assembly`,
        { where: this.where },
      );
    }
    this.#connections = this.#connections.filter((c) => c !== found);
    return found;
  }

  // ------------------------------------------------------------ vnets

  get vnets(): readonly Vnet[] {
    return this.#vnets.list();
  }

  addVnet(vnet: Vnet | VnetInit): Vnet {
    const v = within(this.where, () => (vnet instanceof Vnet ? vnet : new Vnet(vnet)));
    return this.#vnets.add(v, this.where);
  }

  /** The last vnet stays: interfaces need one to attach to. */
  removeVnet(name: string): void {
    this.#vnets.require(name, 'VNET_UNKNOWN', this.where);
    if (this.#vnets.size === 1) {
      throw new UserError('VNET_REQUIRED', `vnet "${name}" is the assembly's only vnet; an assembly keeps at least one`, { where: this.where });
    }
    this.#vnets.delete(name);
  }

  // ------------------------------------------------------------ plain form

  toPlain(): AssemblyPlain {
    return {
      kind: 'assembly',
      name: this.name,
      description: this.#description,
      properties: this.properties.toPlain(),
      members: this.members.map((m) => m.toPlain()),
      connections: this.#connections.map(connectionToPlain),
      vnets: this.vnets.map((v) => v.toPlain()),
    };
  }

  toJSON(): AssemblyPlain {
    return { ...this.toPlain(), properties: this.properties.toJSON(), members: this.members.map((m) => m.toJSON()) };
  }

  toString(): string {
    return `assembly ${this.name} (${this.#members.size} members, ${this.#connections.length} connections)`;
  }

  [INSPECT](): unknown {
    return this.toJSON();
  }

  static fromPlain(value: unknown): Assembly {
    return Assembly.fromPlainWith(value, (list) => list.map((m) => memberFromPlain(m)));
  }

  /**
   * fromPlain with the conversion of the `members` list given, called at the same point.
   * For readers that convert members as they read them (the catalog converts each member
   * from its own document with memberFromPlain, so its plain tree need not be kept).
   */
  static fromPlainWith(value: unknown, members: (list: unknown[]) => AssemblyMember[]): Assembly {
    const o = asObject(value, 'assembly');
    const name = readString(o, 'name');
    const init = within(label('assembly', name), () => {
      if (o['kind'] !== undefined && o['kind'] !== 'assembly') {
        throw new UserError('METADATA_INVALID', `field "kind" must be "assembly", got ${JSON.stringify(o['kind'])}`);
      }
      return {
        description: readOptionalString(o, 'description') ?? '',
        properties: readProperties(o, 'properties', undefined),
        members: members(readArray(o, 'members')),
        vnets: readArray(o, 'vnets').map((v) => Vnet.fromPlain(v)),
      };
    });
    const assembly = new Assembly({ name, ...init });
    // Connections last and as the framework: stored metadata is trusted for who made it, not for shape.
    within(label('assembly', name), () => readConnections(o)).forEach((c) => assembly.connect(c.from, c.to, 'framework'));
    return assembly;
  }
}

/** Any member from its plain form, by `kind`. */
export function memberFromPlain(value: unknown): AssemblyMember {
  const o = asObject(value, 'member');
  switch (o['kind']) {
    case 'appliance':
      return Appliance.fromPlain(o);
    case 'atomicAssembly':
      return AtomicAssembly.fromPlain(o);
    case 'assembly':
      return Assembly.fromPlain(o);
    case 'externalResource':
      return ExternalResource.fromPlain(o);
    default:
      throw new UserError('METADATA_INVALID', `member "kind" must be appliance, atomicAssembly, assembly or externalResource, got ${JSON.stringify(o['kind'])}`, {
        where: typeof o['name'] === 'string' ? label('member', o['name']) : undefined,
      });
  }
}

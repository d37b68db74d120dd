/**
 * Assembly editing: the operations a user performs on the catalog (the reference's
 * Studio and abctl editing commands). Each one loads the object from the catalog, makes
 * the change through the metadata model as actor 'user' (so the model's rules decide
 * what users may do, and its errors reach the user unchanged) and saves the whole object
 * back through the catalog's atomic commit.
 *
 * Members are copies: adding appliance "web" to assembly "A" stores a copy of "web"
 * inside "A"; later edits to the catalog's "web" do not change "A" and vice versa.
 *
 * Read-modify-write: the catalog locks each commit, but not the read before it, so two
 * editors could each load, change and save, and one change would be lost. Edits hold an
 * editing lock (`<instance>/config/editing/.lock`) around the whole load-change-save;
 * it is separate from the catalog's own lock, which commit() takes inside it.
 */
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import {
  Appliance,
  Assembly,
  AtomicAssembly,
  ExternalResource,
  memberKind,
  type AssemblyMember,
  type Connection,
  type Property,
  type Vnet,
} from '../../core/metadata/index.js';
import { resolveObjectPath, type ResolvedObject } from '../../core/deployment-plan/index.js';
import { Catalog, type CatalogAssembly } from '../../catalog/index.js';
import { withInstanceLock } from '../instance-lock.js';
import { InstanceLayout } from '../instance.js';

/**
 * Which object a property edit is about. Either `assembly` (a catalog assembly, atomic
 * or not) or `appliance` (a catalog appliance on its own); `path` then names an object
 * inside it (see core/deployment-plan/object-path.ts): `tier/web`, `web/input/http`, or
 * for an appliance `input/http`. No path: the assembly or appliance itself.
 */
export interface PropertyTarget {
  readonly assembly?: string;
  readonly appliance?: string;
  readonly path?: string;
}

export interface AddToAssemblyOptions {
  /** Name of the copy inside the assembly (default: the catalog object's name). */
  readonly as?: string;
}

export interface ExternalResourceOptions {
  /** Must start with `External`; default `External`. */
  readonly type?: string;
  readonly description?: string;
}

export interface PropertyChange {
  /** Object path label chain, e.g. `assembly "A" > appliance "web"`. */
  readonly where: string;
  readonly property: Property;
}

/** Copy of a catalog object under another name (names are fixed at construction in the model). */
function renamed(obj: Appliance | CatalogAssembly, name: string): Appliance | CatalogAssembly {
  if (obj.name === name) return obj;
  const plain = { ...obj.toPlain(), name };
  if (obj instanceof Appliance) return Appliance.fromPlain(plain);
  if (obj instanceof AtomicAssembly) return AtomicAssembly.fromPlain(plain);
  return Assembly.fromPlain(plain);
}

function splitPath(path: string): string[] {
  return path === '' ? [] : path.split('/');
}

@injectable()
export class EditingService {
  constructor(
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
  ) {}

  /** Runs load-change-save with the editing lock held (see the file comment). */
  async #edit<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInstanceLock(join(this.layout.configDir, 'editing'), what, fn);
  }

  async #assembly(name: string): Promise<CatalogAssembly> {
    if (!(await this.catalog.hasAssembly(name))) {
      const isAppliance = await this.catalog.hasAppliance(name);
      throw new UserError('ASSEMBLY_UNKNOWN', isAppliance ? `"${name}" is an appliance, not an assembly` : `there is no assembly "${name}" in the catalog`, {
        where: `assembly "${name}"`,
        hint: isAppliance ? `create an assembly and add "${name}" to it: abctl createAssembly --name A, then abctl addToAssembly --assembly A --name ${name}` : 'see the assemblies with abctl describeAssemblies',
      });
    }
    return this.catalog.getAssembly(name);
  }

  /** A non-atomic assembly, or the model's refusal for atomic ones (`what` says what was tried). */
  #editable(a: CatalogAssembly, what: string): Assembly {
    if (a instanceof AtomicAssembly) {
      throw new UserError('ATOMIC_NOT_EDITABLE', `users cannot ${what}: "${a.name}" is an atomic assembly, whose appliances and connections are fixed by plugin ${a.creator}`, {
        where: a.where,
        hint: `create an assembly, add "${a.name}" to it with addToAssembly and edit that assembly`,
      });
    }
    return a;
  }

  // ------------------------------------------------------------ assemblies

  async createAssembly(name: string, opts: { description?: string } = {}): Promise<Assembly> {
    return this.#edit(`create assembly "${name}"`, async () => {
      const a = new Assembly({ name, description: opts.description ?? '' });
      if ((await this.catalog.hasAssembly(name)) || (await this.catalog.hasAppliance(name))) {
        throw new UserError('NAME_DUPLICATE', `the catalog already has an ${(await this.catalog.hasAssembly(name)) ? 'assembly' : 'appliance'} named "${name}"; appliances and assemblies share one namespace`, {
          where: `assembly "${name}"`,
          hint: 'choose another name',
        });
      }
      await this.catalog.putAssembly(a);
      return a;
    });
  }

  /**
   * Adds a copy of catalog object `name` (an appliance, an atomic assembly or an assembly)
   * to `assembly`, or to the sub-assembly at `into` inside it.
   */
  async addToAssembly(assembly: string, name: string, opts: AddToAssemblyOptions & { into?: string } = {}): Promise<AssemblyMember> {
    return this.#edit(`add "${name}" to assembly "${assembly}"`, async () => {
      const top = await this.#assembly(assembly);
      let source: Appliance | CatalogAssembly;
      if (await this.catalog.hasAppliance(name)) source = await this.catalog.getAppliance(name);
      else if (await this.catalog.hasAssembly(name)) source = await this.catalog.getAssembly(name);
      else {
        throw new UserError('CATALOG_NOT_FOUND', `there is no appliance or assembly "${name}" in the catalog`, {
          where: top.where,
          hint: 'see what there is with abctl describeCatalog',
        });
      }
      if (source instanceof Assembly && source.name === assembly) {
        throw new UserError('ASSEMBLY_CYCLE', `assembly "${assembly}" cannot be added to itself`, { where: top.where });
      }
      const member = renamed(source, opts.as ?? source.name);
      const container = this.#container(top, opts.into ?? '');
      if (container instanceof AtomicAssembly) {
        if (!(member instanceof Appliance)) throw new UserError('ATOMIC_NOT_EDITABLE', `an atomic assembly holds appliances only`, { where: container.where });
        container.addAppliance(member, 'user'); // the model refuses: atomic assemblies are not editable by users
      } else {
        container.addMember(member);
      }
      // The copy takes the captured archives along (hard links), as it takes the metadata.
      const owner = [assembly, ...splitPath(opts.into ?? ''), member.name].join('/');
      await this.catalog.commit({ put: [top], archives: [{ owner, from: source.name }] });
      return member;
    });
  }

  /** The assembly at `path` inside `top` (member names joined by `/`; empty: `top`). */
  #container(top: CatalogAssembly, path: string): CatalogAssembly {
    if (path === '') return top;
    const found = resolveObjectPath(top, path);
    const holder = found.holder;
    if (found.path.part || !(holder instanceof Assembly || holder instanceof AtomicAssembly)) {
      throw new UserError('OBJECT_PATH_INVALID', `path "${path}" names ${found.where}, which is not an assembly`, { where: top.where, hint: 'name a sub-assembly' });
    }
    return holder;
  }

  /**
   * Removes the member at `memberPath` (`web`, or `tier/web` inside sub-assembly `tier`)
   * and the connections that touched it; returns those connections.
   */
  async removeFromAssembly(assembly: string, memberPath: string): Promise<{ removed: string; kind: string; connections: Connection[] }> {
    return this.#edit(`remove "${memberPath}" from assembly "${assembly}"`, async () => {
      const top = await this.#assembly(assembly);
      const parts = splitPath(memberPath);
      const name = parts.pop();
      if (name === undefined || name === '') throw new UserError('OBJECT_PATH_INVALID', 'name the member to remove', { where: top.where });
      const container = this.#container(top, parts.join('/'));
      let connections: Connection[] = [];
      let kind: string;
      if (container instanceof AtomicAssembly) {
        kind = 'appliance';
        container.removeAppliance(name, 'user'); // refused by the model
      } else {
        const m = container.getMember(name);
        if (!m) resolveObjectPath(top, memberPath); // throws the path error that lists the members
        kind = m ? memberKind(m) : 'member';
        connections = container.removeMember(name);
      }
      await this.catalog.putAssembly(top);
      return { removed: memberPath, kind, connections };
    });
  }

  /** Connects output `from` to input `to` (`member/endpoint`, paths may go into sub-assemblies). */
  async connectEndpoints(assembly: string, from: string, to: string): Promise<Connection> {
    return this.#edit(`connect "${from}" to "${to}"`, async () => {
      const top = await this.#assembly(assembly);
      const c = top instanceof AtomicAssembly ? top.connect(from, to, 'user') : top.connect(from, to, 'user');
      await this.catalog.putAssembly(top);
      return c;
    });
  }

  /** Removes the connection that starts at output `from`. */
  async disconnectEndpoints(assembly: string, from: string): Promise<Connection> {
    return this.#edit(`disconnect "${from}"`, async () => {
      const top = await this.#assembly(assembly);
      const c = top instanceof AtomicAssembly ? top.disconnect(from, 'user') : top.disconnect(from);
      await this.catalog.putAssembly(top);
      return c;
    });
  }

  /**
   * Adds external resource `name` seeded from `output`'s connection properties and
   * connects the output to it.
   */
  async createExternalResource(assembly: string, output: string, name: string, opts: ExternalResourceOptions = {}): Promise<ExternalResource> {
    return this.#edit(`create external resource "${name}"`, async () => {
      const top = this.#editable(await this.#assembly(assembly), 'add external resources');
      const ext = top.addExternalResourceFor(output, name, 'user', {
        ...(opts.type !== undefined ? { type: opts.type } : {}),
        ...(opts.description !== undefined ? { description: opts.description } : {}),
      });
      await this.catalog.putAssembly(top);
      return ext;
    });
  }

  async addVnet(assembly: string, name: string, cidr?: string): Promise<Vnet> {
    return this.#edit(`add vnet "${name}"`, async () => {
      const top = this.#editable(await this.#assembly(assembly), 'add vnets');
      const v = top.addVnet({ name, cidr });
      await this.catalog.putAssembly(top);
      return v;
    });
  }

  // ------------------------------------------------------------ properties

  async #resolveTarget(t: PropertyTarget): Promise<{ root: Appliance | CatalogAssembly; found: ResolvedObject }> {
    if ((t.assembly === undefined) === (t.appliance === undefined)) {
      throw new UserError('OBJECT_PATH_INVALID', 'name either an assembly or an appliance (not both, not neither)', {
        hint: 'e.g. --assembly A --path web --property port, or --appliance web --property port',
      });
    }
    let root: Appliance | CatalogAssembly;
    if (t.assembly !== undefined) root = await this.#assembly(t.assembly);
    else {
      const name = t.appliance as string;
      if (!(await this.catalog.hasAppliance(name))) {
        throw new UserError('CATALOG_NOT_FOUND', `there is no appliance "${name}" in the catalog`, {
          where: `appliance "${name}"`,
          hint: (await this.catalog.hasAssembly(name)) ? `"${name}" is an assembly: use --assembly ${name}` : 'see the appliances with abctl describeAppliances',
        });
      }
      root = await this.catalog.getAppliance(name);
    }
    return { root, found: resolveObjectPath(root, t.path ?? '') };
  }

  async #save(root: Appliance | CatalogAssembly): Promise<void> {
    if (root instanceof Appliance) await this.catalog.putAppliance(root);
    else await this.catalog.putAssembly(root);
  }

  /** Sets a user property (the model refuses system and fileRef properties for users). */
  async setProperty(target: PropertyTarget, property: string, value: string): Promise<PropertyChange> {
    return this.#edit(`set property "${property}"`, async () => {
      const { root, found } = await this.#resolveTarget(target);
      const p = this.#withWhere(found, () => found.properties.set(property, value, 'user'));
      await this.#save(root);
      return { where: found.where, property: p };
    });
  }

  /** Clears a user property's value (back to "no value"). */
  async unsetProperty(target: PropertyTarget, property: string): Promise<PropertyChange> {
    return this.#edit(`unset property "${property}"`, async () => {
      const { root, found } = await this.#resolveTarget(target);
      const p = this.#withWhere(found, () => found.properties.unset(property, 'user'));
      await this.#save(root);
      return { where: found.where, property: p };
    });
  }

  /** The property, for callers that must know its type before asking for a value (passwords). */
  async getProperty(target: PropertyTarget, property: string): Promise<PropertyChange> {
    const { found } = await this.#resolveTarget(target);
    return { where: found.where, property: this.#withWhere(found, () => found.properties.require(property)) };
  }

  /** Model errors name the property set's owner only; put the full object path in front. */
  #withWhere<T>(found: ResolvedObject, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof UserError) {
        const tail = err.where?.split(' > ').pop();
        throw new UserError(err.code, err.message, { where: tail ? `${found.where} > ${tail}` : found.where, hint: err.hint, cause: err.cause });
      }
      throw err;
    }
  }

  // ------------------------------------------------------------ deleting

  /** Refused while an assembly holds a member of that name (see the file comment on copies). */
  async deleteAppliance(name: string): Promise<void> {
    await this.#edit(`delete appliance "${name}"`, async () => {
      if (!(await this.catalog.hasAppliance(name))) {
        throw new UserError('CATALOG_NOT_FOUND', `there is no appliance "${name}" in the catalog`, {
          where: `appliance "${name}"`,
          hint: (await this.catalog.hasAssembly(name)) ? `"${name}" is an assembly: use abctl deleteAssembly --name ${name}` : 'see the appliances with abctl describeAppliances',
        });
      }
      const users = await this.catalog.findUsers(name);
      if (users.length > 0) {
        throw new UserError('APPLIANCE_IN_USE', `appliance "${name}" cannot be deleted: assembl${users.length === 1 ? 'y' : 'ies'} ${users.map((u) => `"${u}"`).join(', ')} use${users.length === 1 ? 's' : ''} it`, {
          where: `appliance "${name}"`,
          hint: `remove it first: ${users.map((u) => `abctl removeFromAssembly --assembly ${u} --member ${name}`).join('; ')} (inside sub-assemblies, give the path, e.g. tier/${name})`,
        });
      }
      await this.catalog.deleteAppliance(name);
    });
  }

  async deleteAssembly(name: string): Promise<void> {
    await this.#edit(`delete assembly "${name}"`, async () => {
      await this.#assembly(name);
      const users = await this.catalog.findUsers(name);
      if (users.length > 0) {
        throw new UserError('ASSEMBLY_IN_USE', `assembly "${name}" cannot be deleted: assembl${users.length === 1 ? 'y' : 'ies'} ${users.map((u) => `"${u}"`).join(', ')} use${users.length === 1 ? 's' : ''} it`, {
          where: `assembly "${name}"`,
          hint: `remove it from ${users.join(', ')} first with abctl removeFromAssembly`,
        });
      }
      await this.catalog.deleteAssembly(name);
    });
  }
}

import { injectable } from 'inversify';
import { PluginError, UserError } from '../../core/errors.js';
import type { OwnedService, RegisterOptions, ServiceCollector, ServiceRegistration } from '../../core/plugin-contract.js';
import { toServiceId, type ServiceId, type ServiceIdLike } from '../../core/service-ids.js';

/** What a registry forgets on removal but keeps for error messages: who used to provide an id. */
type OwnerSet = Set<string>;

class Registration<T> implements ServiceRegistration<T> {
  #active = true;

  constructor(
    readonly id: ServiceId<T>,
    readonly owner: string,
    readonly service: T,
    readonly ranking: number,
    private readonly remove: (reg: Registration<T>) => void,
  ) {}

  unregister(): void {
    if (!this.#active) {
      // Felix throws IllegalStateException here: a second unregister is a plugin bug, not a no-op.
      throw new PluginError(
        this.owner,
        'SERVICE_ALREADY_UNREGISTERED',
        `service "${this.id.name}" registered by plugin "${this.owner}" was already unregistered`,
        { where: this.owner, hint: 'keep the registration and call unregister() once, usually from stop()' },
      );
    }
    this.markRemoved();
    this.remove(this);
  }

  /** Called by the registry when it removes the entry itself (unregisterAll). */
  markRemoved(): void {
    this.#active = false;
  }
}

/**
 * The service registry, after OSGi/Felix: every registration belongs to the plugin that made
 * it, is found by its id in O(1), and the list per id is kept sorted (ranking high to low,
 * then registration order) so lookups never sort.
 */
@injectable()
export class ServiceRegistry implements ServiceCollector {
  readonly #byId = new Map<symbol, Registration<unknown>[]>();
  readonly #byOwner = new Map<string, Set<Registration<unknown>>>();
  /** Owners whose registrations were removed wholesale, per id: lets "not found" say who failed. */
  readonly #formerOwners = new Map<symbol, OwnerSet>();

  register<T>(owner: string, id: ServiceIdLike<T>, service: T, options: RegisterOptions = {}): ServiceRegistration<T> {
    const sid = toServiceId(id);
    const ranking = options.ranking ?? 0;
    if (typeof ranking !== 'number' || !Number.isFinite(ranking)) {
      throw new PluginError(owner, 'SERVICE_RANKING_INVALID', `plugin "${owner}" registered "${sid.name}" with ranking ${String(ranking)}; a ranking must be a finite number`, { where: owner });
    }
    if (service === undefined || service === null) {
      throw new PluginError(owner, 'SERVICE_MISSING', `plugin "${owner}" registered ${String(service)} as service "${sid.name}"`, { where: owner });
    }
    const reg = new Registration<T>(sid, owner, service, ranking, (r) => this.#remove(r as Registration<unknown>));
    const entry = reg as Registration<unknown>;

    let list = this.#byId.get(sid.key);
    if (list === undefined) {
      list = [];
      this.#byId.set(sid.key, list);
    }
    // The new entry goes after every entry ranked >= it (earlier registrations win ties);
    // scanning from the end makes the common case (all ranking 0) constant time.
    let at = list.length;
    while (at > 0 && (list[at - 1] as Registration<unknown>).ranking < ranking) at--;
    list.splice(at, 0, entry);

    let owned = this.#byOwner.get(owner);
    if (owned === undefined) {
      owned = new Set();
      this.#byOwner.set(owner, owned);
    }
    owned.add(entry);
    return reg;
  }

  getServices<T>(id: ServiceIdLike<T>): T[] {
    const list = this.#byId.get(toServiceId(id).key);
    if (list === undefined) return [];
    return list.map((r) => r.service as T);
  }

  getSingletonService<T>(id: ServiceIdLike<T>): T {
    const sid = toServiceId(id);
    const first = this.#byId.get(sid.key)?.[0];
    if (first === undefined) throw this.#notFound(sid);
    return first.service as T;
  }

  getServicesWithOwner<T>(id: ServiceIdLike<T>): OwnedService<T>[] {
    const list = this.#byId.get(toServiceId(id).key);
    if (list === undefined) return [];
    return list.map((r) => ({ owner: r.owner, service: r.service as T }));
  }

  /** Removes everything `owner` registered (its activator failed, or it stopped). Returns how many. */
  unregisterAll(owner: string): number {
    const owned = this.#byOwner.get(owner);
    if (owned === undefined) return 0;
    this.#byOwner.delete(owner);
    for (const reg of owned) {
      reg.markRemoved();
      this.#removeFromId(reg);
      let former = this.#formerOwners.get(reg.id.key);
      if (former === undefined) {
        former = new Set();
        this.#formerOwners.set(reg.id.key, former);
      }
      former.add(owner);
    }
    return owned.size;
  }

  /** A read-only view for plugins: lookups happen at call time, so it sees later registrations. */
  createCollector(): ServiceCollector {
    return {
      getSingletonService: <T>(id: ServiceIdLike<T>): T => this.getSingletonService(id),
      getServices: <T>(id: ServiceIdLike<T>): T[] => this.getServices(id),
      getServicesWithOwner: <T>(id: ServiceIdLike<T>): OwnedService<T>[] => this.getServicesWithOwner(id),
    };
  }

  #remove(reg: Registration<unknown>): void {
    this.#removeFromId(reg);
    const owned = this.#byOwner.get(reg.owner);
    if (owned !== undefined) {
      owned.delete(reg);
      if (owned.size === 0) this.#byOwner.delete(reg.owner);
    }
  }

  #removeFromId(reg: Registration<unknown>): void {
    const list = this.#byId.get(reg.id.key);
    if (list === undefined) return;
    const at = list.indexOf(reg);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byId.delete(reg.id.key);
  }

  #notFound(sid: ServiceId<unknown>): UserError {
    const former = this.#formerOwners.get(sid.key);
    const gone = former === undefined ? '' : ` (registered earlier by ${[...former].map((o) => `"${o}"`).join(', ')}, which failed or stopped)`;
    return new UserError('SERVICE_NOT_FOUND', `no service is registered as "${sid.name}"${gone}`, {
      hint: `the plugin that provides "${sid.name}" may be missing, disabled or broken; "abctl describePlugins" shows each plugin's state`,
    });
  }
}

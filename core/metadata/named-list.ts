/**
 * Ordered collection with unique names, used for the parts of an appliance or assembly
 * (inputs, outputs, interfaces, file set definitions, content resources, members).
 * Internal helper: owners expose read-only views and do their own rule checks first.
 */
import { UserError, type ErrorCode } from '../errors.js';

export class NamedList<T extends { readonly name: string }> implements Iterable<T> {
  readonly #items = new Map<string, T>();

  /** `kind` ("input", "member", ...) and `scope` ("appliance", "assembly") word the duplicate error. */
  constructor(
    private readonly kind: string,
    private readonly scope: string,
  ) {}

  get size(): number {
    return this.#items.size;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.#items.values();
  }

  has(name: string): boolean {
    return this.#items.has(name);
  }

  get(name: string): T | undefined {
    return this.#items.get(name);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  /** Throws NAME_DUPLICATE when the name is taken. */
  checkFree(name: string, where?: string): void {
    if (this.#items.has(name)) {
      throw new UserError('NAME_DUPLICATE', `a ${this.kind} named "${name}" already exists; ${this.kind} names are unique within an ${this.scope}`, {
        where,
        hint: 'choose another name',
      });
    }
  }

  add(item: T, where?: string): T {
    this.checkFree(item.name, where);
    this.#items.set(item.name, item);
    return item;
  }

  /** Replaces an item of the same name, keeping its position. */
  replace(item: T): void {
    this.#items.set(item.name, item);
  }

  /** Throws `<KIND>_UNKNOWN`-style error (code given by caller) when missing. */
  require(name: string, code: ErrorCode, where?: string): T {
    const item = this.#items.get(name);
    if (item === undefined) {
      const known = [...this.#items.keys()];
      throw new UserError(code, `there is no ${this.kind} named "${name}"`, {
        where,
        hint: known.length ? `known ${this.kind}s: ${known.join(', ')}` : `there are no ${this.kind}s`,
      });
    }
    return item;
  }

  delete(name: string): boolean {
    return this.#items.delete(name);
  }
}

/**
 * Who is making a change. Edits are checked against the actor because the same object
 * is written by the framework (loading the catalog, creating appliances), by plugins
 * (during dehydration) and by users (assembly editing), and each may do different things.
 */
export type Actor = 'framework' | 'plugin' | 'user';

export const ACTORS: readonly Actor[] = ['framework', 'plugin', 'user'];

/** Plugins and the framework may change anything a plugin made; users may not. */
export function isPrivileged(actor: Actor): boolean {
  return actor !== 'user';
}

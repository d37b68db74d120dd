/**
 * Which plugins took part in making an appliance or atomic assembly: the root plugin (its
 * creator) and every extension of the chain that dehydrated it, each with its installed
 * version. Rehydration runs the same chain, so the install rules ("no delete, no downgrade
 * while appliances made by it exist") must see extensions too, not only the creator.
 *
 * The framework sets the list; documents written before it existed have none, and then the
 * creator alone counts (see `madeWith`).
 */
import { UserError } from '../errors.js';
import { explainVersion } from '../version.js';
import { asObject, readOptionalArray, readString, type PlainObject } from './plain.js';

export interface Participant {
  /** Plugin or extension name. */
  readonly name: string;
  /** Its plugin.config version when it ran. */
  readonly version: string;
}

export interface ParticipantPlain {
  name: string;
  version: string;
}

/** Checks and freezes a participant list (names unique, versions in the plugin.config format). */
export function checkParticipants(list: readonly Participant[] | undefined, where: string): readonly Participant[] {
  const out: Participant[] = [];
  const seen = new Set<string>();
  for (const [i, p] of (list ?? []).entries()) {
    const at = `participant #${i + 1}`;
    if (typeof p?.name !== 'string' || p.name.trim() === '') {
      throw new UserError('METADATA_INVALID', `${at} has no plugin name`, { where });
    }
    const bad = explainVersion(p.version);
    if (bad !== undefined) {
      throw new UserError('METADATA_INVALID', `${at} (${p.name}) has version ${JSON.stringify(p.version)}: ${bad}`, { where });
    }
    if (seen.has(p.name)) throw new UserError('METADATA_INVALID', `${at}: ${p.name} is listed twice`, { where });
    seen.add(p.name);
    out.push(Object.freeze({ name: p.name, version: p.version }));
  }
  return Object.freeze(out);
}

/** The optional `participants` field of a plain appliance or atomic assembly. */
export function readParticipants(o: PlainObject): Participant[] | undefined {
  return readOptionalArray(o, 'participants')?.map((item, i) => {
    const p = asObject(item, `participant #${i + 1}`);
    return { name: readString(p, 'name'), version: readString(p, 'version') };
  });
}

/** True when `plugin` created the object or took part in its dehydration. */
export function madeWith(made: { readonly creator: string; readonly participants: readonly Participant[] }, plugin: string): boolean {
  return made.creator === plugin || made.participants.some((p) => p.name === plugin);
}

/** `tomcat 1.2, tomcat-ssl 1.0` for describe output; the creator alone for records without the list. */
export function formatParticipants(made: { readonly creator: string; readonly participants: readonly Participant[] }): string {
  return made.participants.length === 0 ? `${made.creator} (recorded before abctl kept versions and extensions)` : made.participants.map((p) => `${p.name} ${p.version}`).join(', ');
}

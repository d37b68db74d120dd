/**
 * Kubernetes names from metadata names. Metadata names allow upper case and symbols such as
 * `_ . : @`; Kubernetes wants lower-case DNS labels. Names are mapped (lower case, every
 * other character to `-`), then checked; what cannot be mapped (too long, no letter to start
 * with) and two names that map to the same Kubernetes name are errors naming the object, so
 * the user can rename the member rather than find a silently changed name in the cluster.
 */
import { UserError } from '../errors.js';

/** Longest DNS label (RFC 1123): most object names, label values, Service names. */
export const MAX_LABEL = 63;
/**
 * A StatefulSet's pods carry `controller-revision-hash: <name>-<10 characters>`, a label
 * value of at most 63 characters, so the StatefulSet's own name must leave room for it.
 */
export const MAX_STATEFULSET_NAME = 52;
/** Longest DNS subdomain: cluster-scoped objects such as PersistentVolumes. */
export const MAX_SUBDOMAIN = 253;
/** Port names (IANA service names). */
export const MAX_PORT_NAME = 15;

/** RFC 1035 label (Services need it: a letter first); we hold every object name to it. */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Lower case, runs of anything but `a-z 0-9` to one `-`, no `-` at either end. */
export function mapName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** True for a name every kind of object accepts (RFC 1035 label of at most `max` characters). */
export function isKubernetesName(name: string, max = MAX_LABEL): boolean {
  return name.length <= max && DNS_1035.test(name);
}

/** A port name: at most 15 characters of `a-z 0-9 -`, with a letter; undefined when the input name does not give one. */
export function portName(raw: string): string | undefined {
  const name = mapName(raw).slice(0, MAX_PORT_NAME).replace(/-+$/, '');
  return /[a-z]/.test(name) && /^[a-z0-9]/.test(name) ? name : undefined;
}

/** What a name is for, in messages: `Service for input "http"`. */
export interface NameRequest {
  /** Object kind (`Deployment`, `Service`, ...); clashes are looked for per kind. */
  readonly kind: string;
  /** Parts joined with `-` before mapping (`["tier", "web"]`, `"config"`). */
  readonly parts: readonly string[];
  /** The metadata object the name comes from, for errors: `appliance "web"`. */
  readonly owner: string;
  readonly max?: number;
}

/**
 * Hands out object names and remembers them, so two metadata objects that map to one
 * Kubernetes name of the same kind are reported instead of one overwriting the other.
 */
export class NameBook {
  readonly #taken = new Map<string, string>();

  name(req: NameRequest): string {
    const raw = req.parts.join('-');
    const name = mapName(raw);
    const max = req.max ?? MAX_LABEL;
    if (!isKubernetesName(name, max)) {
      const why =
        name === ''
          ? 'has no letter or digit left'
          : name.length > max
            ? `is ${name.length} characters long; the limit for a ${req.kind} name is ${max}`
            : 'must start with a letter';
      throw new UserError('K8S_NAME_INVALID', `${req.owner} gives the ${req.kind} name "${name}"${raw === name ? '' : ` (from "${raw}")`}, which ${why}`, {
        where: req.owner,
        hint: 'Kubernetes names are lower-case letters, digits and "-", starting with a letter; give the member a shorter name that starts with a letter (abctl addToAssembly --as NAME)',
      });
    }
    const key = `${req.kind}/${name}`;
    const other = this.#taken.get(key);
    if (other !== undefined && other !== req.owner) {
      throw new UserError('K8S_NAME_CLASH', `${req.owner} and ${other} both give the ${req.kind} name "${name}"`, {
        where: req.owner,
        hint: 'Kubernetes names ignore case and symbols; rename one of the two members (abctl addToAssembly --as NAME)',
      });
    }
    this.#taken.set(key, req.owner);
    return name;
  }
}

/** A label value from any text: mapped as a name, cut to 63 characters (label values need no letter first). */
export function labelValue(raw: string): string {
  return mapName(raw).slice(0, MAX_LABEL).replace(/-+$/, '');
}

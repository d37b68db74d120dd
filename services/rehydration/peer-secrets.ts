/**
 * Password values of peers (a connected appliance's input, an external resource) in late
 * bindings. A peer names them in `secretProperties`; where the bindings rest, those values
 * are kept apart from the rest:
 *  - in a bundle's bindings.json, sealed with the instance's bundle key (the agent opens them
 *    in memory; an image's bundle has none);
 *  - in a container's mounts, in the Secret (`peers.json`), never in the ConfigMap; the
 *    foreground puts them back into the private copy of the bundle it runs.
 */
import { PROPERTIES_FILE } from '../../core/kubernetes/contract.js';
import type { LateBindings, PeerBinding } from '../../core/lifecycle-contract.js';
import type { BundleKey } from './bundle-key.js';

/** The file in a container's secret directory (and the Secret's key) holding the peers' password values. */
export const PEER_SECRETS_FILE = 'peers.json';

/** Output name -> `appliance/input` of the peer -> property name -> value. */
export type PeerSecrets = Record<string, Record<string, Record<string, string>>>;

export function peerKey(p: Pick<PeerBinding, 'appliance' | 'input'>): string {
  return `${p.appliance}/${p.input}`;
}

/** The bindings with every peer that names secret properties replaced by `fn(peer, names, output)`. */
function mapSecretPeers(bindings: LateBindings, fn: (peer: PeerBinding, names: readonly string[], output: string) => PeerBinding): LateBindings {
  const outputs: Record<string, PeerBinding[]> = {};
  for (const [output, peers] of Object.entries(bindings.outputs)) {
    outputs[output] = peers.map((p) => (p.secretProperties?.length ? fn(p, p.secretProperties, output) : p));
  }
  return { ...bindings, outputs };
}

/**
 * The bindings with each peer password value replaced by `fn(value, peer, name)` (left out
 * when it gives undefined). Other values, and peers without secret properties, are kept as they are.
 */
export function mapPeerSecrets(bindings: LateBindings, fn: (value: string, peer: PeerBinding, name: string, output: string) => string | undefined): LateBindings {
  return mapSecretPeers(bindings, (p, names, output) => {
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.properties)) {
      const next = names.includes(k) ? fn(v, p, k, output) : v;
      if (next !== undefined) properties[k] = next;
    }
    return { ...p, properties };
  });
}

/** Every non-empty peer password value (for redaction and the "file holds a password" rule). */
export function peerSecretValues(bindings: LateBindings): string[] {
  const out: string[] = [];
  mapPeerSecrets(bindings, (v) => {
    if (v.length > 0) out.push(v);
    return v;
  });
  return out;
}

/** The bindings without peer password values, and those values apart (for a Secret). */
export function splitPeerSecrets(bindings: LateBindings): { bindings: LateBindings; secrets: PeerSecrets } {
  const secrets: PeerSecrets = {};
  const kept = mapPeerSecrets(bindings, (v, p, name, output) => {
    ((secrets[output] ??= {})[peerKey(p)] ??= {})[name] = v;
    return undefined;
  });
  return { bindings: kept, secrets };
}

/** Puts the Secret's peer password values back into bindings whose peers name them. */
export function fillPeerSecrets(bindings: LateBindings, secrets: PeerSecrets): LateBindings {
  return mapSecretPeers(bindings, (p, names, output) => {
    const values = secrets[output]?.[peerKey(p)];
    if (!values) return p;
    const own = Object.fromEntries(Object.entries(values).filter(([k]) => names.includes(k)));
    return { ...p, properties: { ...p.properties, ...own } };
  });
}

/** Seals each peer password value with the bundle key (bindings.json of a deployed bundle). */
export function sealPeerSecrets(bindings: LateBindings, key: BundleKey): LateBindings {
  return mapPeerSecrets(bindings, (v) => key.encrypt(v));
}

/** Opens the sealed values in memory; `where` names bindings.json for a value that does not open. */
export function openPeerSecrets(bindings: LateBindings, key: BundleKey, where: string): LateBindings {
  return mapPeerSecrets(bindings, (v) => key.decrypt(v, where));
}

/**
 * The bindings as a plugin sees them when the agent has no key: reading a peer password value
 * calls `locked` (which throws BUNDLE_KEY_MISSING); everything else reads as usual.
 */
export function lockPeerSecrets(bindings: LateBindings, locked: (peer: PeerBinding, name: string) => never): LateBindings {
  return mapSecretPeers(bindings, (p, names) => {
    const present = names.filter((n) => n in p.properties);
    if (present.length === 0) return p;
    const properties: Record<string, string> = { ...p.properties };
    for (const n of present) Object.defineProperty(properties, n, { enumerable: true, get: () => locked(p, n) });
    return { ...p, properties };
  });
}

/**
 * The data of a container's Secret (base64 per file): its password properties and its peers'
 * password values; empty when it has neither. `json` writes each file (the Kubernetes export
 * wants a stable key order).
 */
export function containerSecretData(passwords: Readonly<Record<string, string>>, peers: PeerSecrets, json: (value: unknown) => string): Record<string, string> {
  const data: Record<string, string> = {};
  if (Object.keys(passwords).length > 0) data[PROPERTIES_FILE] = Buffer.from(json(passwords)).toString('base64');
  if (Object.keys(peers).length > 0) data[PEER_SECRETS_FILE] = Buffer.from(json(peers)).toString('base64');
  return data;
}

/** The Kubernetes objects abctl writes, as plain JSON-able values (one YAML document each). */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: Json | ObjectMeta;
}

/** Kinds that live outside namespaces (no `metadata.namespace`). */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['PersistentVolume']);

/** `app.kubernetes.io/*` keys (the recommended labels). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Annotations that lead back to the metadata (values are the original, unmapped names). */
export const ANNOTATIONS = {
  assembly: 'abctl.io/assembly',
  appliance: 'abctl.io/appliance',
  externalResource: 'abctl.io/external-resource',
  vnet: 'abctl.io/vnet',
  fileSet: 'abctl.io/file-set',
  configSha256: 'abctl.io/config-sha256',
} as const;

/** Label key marking the pods attached to one vnet. */
export function vnetLabel(mappedVnet: string): string {
  return `vnet.abctl.io/${mappedVnet}`;
}

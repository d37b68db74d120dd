/**
 * An assembly and its deployment plan as Kubernetes objects, without I/O (docs/kubernetes.md
 * has the table). The walk reuses the deployment's topology (which appliances, how many
 * instances, which connections) and the plan overlay (effective property values), so a
 * plain deploy and an engine deploy read the plan the same way.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  ANNOTATIONS,
  BINDINGS_FILE,
  CLUSTER_SCOPED,
  CONFIG_DIR,
  CONFIG_DIR_ENV,
  LABELS,
  MAX_STATEFULSET_NAME,
  MAX_SUBDOMAIN,
  NameBook,
  PING_COMMAND,
  PROPERTIES_FILE,
  SECRET_DIR,
  SECRET_DIR_ENV,
  labelValue,
  portName,
  vnetLabel,
  type Json,
  type KubeObject,
} from '../../core/kubernetes/index.js';
import type { DeploymentPlan, PlanNode } from '../../core/deployment-plan/index.js';
import type { PeerBinding } from '../../core/lifecycle-contract.js';
import { containerSecretData, splitPeerSecrets } from '../rehydration/peer-secrets.js';
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly, ExternalResource, effectivePort, type FileSetDefinition, type Input, type Vnet } from '../../core/metadata/index.js';
import { hostFromProperties, peerInput } from '../deploy/deployer.js';
import { appliancesOf, linksOf, plannedCount, type ApplianceSlot, type Link } from '../deploy/topology.js';
import { applyPlan } from '../rehydration/plan-overlay.js';

/** The stop chain's limit, as a plain deploy gives each step (AB_DEPLOY_STEP_TIMEOUT_MS default). */
export const TERMINATION_GRACE_SECONDS = 300;
/** Storage asked for each volume abctl creates (StatefulSet volumes, NFS volumes). */
export const DEFAULT_VOLUME_SIZE = '1Gi';
/** Average CPU use (of the request) the autoscaler aims for. */
export const HPA_CPU_TARGET = 80;

export interface ManifestOptions {
  /** Written into every namespaced object (and the kustomization); absent: kubectl's current namespace. */
  readonly namespace?: string;
  /** The image reference of each appliance (by its key, `tier/web`). */
  readonly image: (slot: ApplianceSlot) => string;
  /** Storage request of the volumes abctl creates (default 1Gi). */
  readonly volumeSize?: string;
}

export interface Manifests {
  readonly objects: readonly KubeObject[];
  /** What has no Kubernetes equivalent here and what was done instead (one sentence each). */
  readonly warnings: readonly string[];
}

/** The port an input listens on with the plan applied (its portProperty's value, else the metadata's; see core/metadata). */
function portOf(appliance: Appliance, input: Input): number | undefined {
  return effectivePort(input, (n) => appliance.properties.get(n)?.value, appliance.where);
}

/** TCP unless the input only speaks UDP or SCTP. */
function protocolOf(input: Input): 'TCP' | 'UDP' | 'SCTP' {
  const p = input.protocols.map((x) => x.toUpperCase());
  if (p.length > 0 && p.every((x) => x === 'UDP')) return 'UDP';
  if (p.length > 0 && p.every((x) => x === 'SCTP')) return 'SCTP';
  return 'TCP';
}

/** Keys sorted, two-space indent, final newline: the same values give the same bytes. */
function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sort(x)]));
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/** Single quotes for sh, with embedded quotes closed and reopened. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

interface ApplianceNames {
  readonly base: string;
  readonly workload: string;
  readonly config: string;
  readonly secret: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** Service name per input name. */
  readonly services: Map<string, string>;
}

/** The file sets an appliance's instances use: its own, or for an atomic sibling the primary's. */
function fileSetsOf(slot: ApplianceSlot, overlaid: Assembly): { owner: ApplianceSlot['path']; defs: readonly FileSetDefinition[] } {
  const from = slot.appliance.fileSetsFrom;
  if (from === undefined) return { owner: slot.path, defs: slot.appliance.fileSets };
  const ownerPath = [...slot.path.slice(0, -1), from];
  let m: Assembly | Appliance | AtomicAssembly | ExternalResource | undefined = overlaid;
  for (const n of ownerPath) m = m instanceof Assembly ? m.getMember(n) : m instanceof AtomicAssembly ? m.getAppliance(n) : undefined;
  return { owner: ownerPath, defs: m instanceof Appliance ? m.fileSets : [] };
}

/** The non-atomic assembly that holds the member at `path` (its vnets are the ones its interfaces attach to), and that assembly's path. */
function enclosingAssembly(top: Assembly, path: readonly string[]): { assembly: Assembly; path: string[] } {
  let cur = top;
  const at: string[] = [];
  for (const n of path.slice(0, -1)) {
    const m = cur.getMember(n);
    if (!(m instanceof Assembly)) break;
    cur = m;
    at.push(n);
  }
  return { assembly: cur, path: at };
}

function planMountTarget(node: PlanNode | undefined, fileSet: string): string | undefined {
  return node?.mountTargets.find((m) => m.fileSet === fileSet)?.target;
}

function childNode(n: PlanNode | undefined, name: string): PlanNode | undefined {
  return n?.children.find((c) => c.name === name);
}

function planNodeAt(plan: DeploymentPlan, path: readonly string[]): PlanNode | undefined {
  let n: PlanNode | undefined = plan.root;
  for (const p of path) n = childNode(n, p);
  return n;
}

/**
 * Maps the assembly with the plan applied. Refuses names Kubernetes cannot take (naming the
 * appliance); everything without an equivalent is listed in `warnings`.
 */
export function buildManifests(assembly: Assembly, plan: DeploymentPlan, opts: ManifestOptions): Manifests {
  const overlaid = applyPlan(assembly, plan).assembly;
  const slots = appliancesOf(overlaid, plan);
  const links = linksOf(overlaid, slots);
  const book = new NameBook();
  const warnings: string[] = [];
  const objects: KubeObject[] = [];
  const volumeSize = opts.volumeSize ?? DEFAULT_VOLUME_SIZE;
  const assemblyLabel = labelValue(assembly.name);
  const meta = (kind: string, name: string, labels: Record<string, string>, annotations: Record<string, string>) => ({
    name,
    ...(opts.namespace !== undefined && !CLUSTER_SCOPED.has(kind) ? { namespace: opts.namespace } : {}),
    labels,
    annotations,
  });
  const owner = (slot: ApplianceSlot) => `appliance "${slot.key}"`;

  // Names first, all of them, so that a clash is reported before any object is built.
  const names = new Map<string, ApplianceNames>();
  for (const slot of slots) {
    const stateful = fileSetsOf(slot, overlaid).defs.some((f) => f.stateful);
    const base = book.name({ kind: 'appliance', parts: slot.path, owner: owner(slot) });
    const workload = book.name({ kind: stateful ? 'StatefulSet' : 'Deployment', parts: slot.path, owner: owner(slot), ...(stateful ? { max: MAX_STATEFULSET_NAME } : {}) });
    const selector = { [LABELS.name]: base, [LABELS.instance]: assemblyLabel };
    const labels = { ...selector, [LABELS.component]: labelValue(slot.appliance.creator), [LABELS.partOf]: assemblyLabel, [LABELS.managedBy]: 'abctl' };
    const services = new Map<string, string>();
    for (const input of slot.appliance.inputs) {
      services.set(input.name, book.name({ kind: 'Service', parts: [...slot.path, input.name], owner: `${owner(slot)} > input "${input.name}"` }));
    }
    if (stateful) book.name({ kind: 'Service', parts: slot.path, owner: `${owner(slot)} (its StatefulSet's headless Service)` });
    names.set(slot.key, {
      base,
      workload,
      config: book.name({ kind: 'ConfigMap', parts: [...slot.path, 'config'], owner: owner(slot) }),
      secret: book.name({ kind: 'Secret', parts: [...slot.path, 'secret'], owner: owner(slot) }),
      labels,
      selector,
      services,
    });
  }
  const externalServices = new Map<string, string>();
  for (const l of links.filter((x) => x.external)) {
    const key = `${l.to}/${l.input}`;
    if (!externalServices.has(key)) externalServices.set(key, book.name({ kind: 'Service', parts: [...l.to.split('/'), l.input], owner: `external resource "${l.to}" > input "${l.input}"` }));
  }

  // Vnets: each appliance's interfaces attach to the vnet their `vnet` property names, else to the assembly's first.
  const vnetKeys = new Map<string, { assemblyPath: string[]; vnet: Vnet; label: string; members: string[] }>();
  const vnetsOf = new Map<string, string[]>();
  for (const slot of slots) {
    const { assembly: holder, path: at } = enclosingAssembly(overlaid, slot.path);
    const attached = new Set<string>();
    for (const iface of slot.appliance.interfaces.flatMap((i) => i.flatten())) {
      const wanted = iface.properties.getValue('vnet') || holder.vnets[0]?.name;
      if (wanted === undefined) continue;
      const vnet = holder.vnets.find((v) => v.name === wanted);
      if (!vnet) {
        throw new UserError('K8S_VNET_UNKNOWN', `interface "${iface.name}" names vnet "${wanted}", which ${at.length ? `assembly "${at.join('/')}"` : `assembly "${assembly.name}"`} does not have`, {
          where: `${owner(slot)} > interface "${iface.name}"`,
          hint: `its vnets: ${holder.vnets.map((v) => v.name).join(', ')}; add it with abctl addVnet or change the interface's vnet property`,
        });
      }
      const key = [...at, vnet.name].join('/');
      if (!vnetKeys.has(key)) {
        const mapped = book.name({ kind: 'NetworkPolicy', parts: ['vnet', ...at, vnet.name], owner: `vnet "${key}"` });
        vnetKeys.set(key, { assemblyPath: at, vnet, label: vnetLabel(mapped.slice('vnet-'.length)), members: [] });
      }
      attached.add(key);
    }
    const keys = [...attached].sort();
    for (const k of keys) vnetKeys.get(k)?.members.push(slot.key);
    vnetsOf.set(slot.key, keys);
  }
  for (const l of links.filter((x) => !x.external)) {
    const shared = (vnetsOf.get(l.from) ?? []).some((v) => (vnetsOf.get(l.to) ?? []).includes(v));
    if (!shared) warnings.push(`"${l.from}" connects to "${l.to}" but they share no vnet: the NetworkPolicies will drop that traffic (attach both to one vnet)`);
  }

  const serviceOf = (l: Link): string => (l.external ? (externalServices.get(`${l.to}/${l.input}`) as string) : (names.get(l.to)?.services.get(l.input) as string));

  // Per appliance: configuration, secret, workload, services, autoscaler, volumes.
  for (const slot of slots) {
    const n = names.get(slot.key) as ApplianceNames;
    const app = slot.appliance;
    const annotations = { [ANNOTATIONS.assembly]: assembly.name, [ANNOTATIONS.appliance]: slot.key };
    const podLabels: Record<string, string> = { ...n.labels };
    for (const k of vnetsOf.get(slot.key) ?? []) podLabels[vnetKeys.get(k)?.label as string] = 'true';

    // properties.json: every user value but passwords (and fileRefs, whose files are not carried); user passwords go to the Secret.
    const props: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const p of app.properties.list()) {
      if (p.value === undefined) continue;
      if (p.category !== 'user') {
        // The image carries no password values, and the agent takes only user properties from mounts.
        if (p.secret) warnings.push(`${owner(slot)}: system password "${p.name}" cannot reach the container (images carry no password values; the mounted Secret may set user properties only)`);
        continue;
      }
      if (p.secret) secrets[p.name] = p.value;
      else if (p.type !== 'fileRef') props[p.name] = p.value;
    }
    if (slot.node?.fileRefs.some((f) => f.file)) warnings.push(`${owner(slot)}: files the plan gives for fileRef properties are not carried into the manifests (the image holds the captured content resources)`);
    // Peers' password values go to the Secret, never the ConfigMap; the container's foreground puts them back.
    const { bindings, secrets: peerSecrets } = splitPeerSecrets({
      // The agent takes this instance's identity from the container; placeholders keep the shape.
      instance: { hostName: '', addresses: [], index: 1 },
      outputs: bindingsFor(slot, links, overlaid, serviceOf),
    });
    const configData = { [BINDINGS_FILE]: stableJson(bindings), [PROPERTIES_FILE]: stableJson(props) };
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('ConfigMap', n.config, n.labels, annotations), data: configData });
    const secretData = containerSecretData(secrets, peerSecrets, stableJson);
    const hasSecret = Object.keys(secretData).length > 0;
    if (hasSecret) {
      objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: meta('Secret', n.secret, n.labels, annotations), type: 'Opaque', data: secretData });
    }

    // Volumes: stateful local file sets get a volume per pod; NFS file sets a shared claim.
    const { owner: fsOwner, defs } = fileSetsOf(slot, overlaid);
    const fsNode = planNodeAt(plan, fsOwner);
    // `optional: false` said outright: podman 4.3's kube play dereferences the field without checking it is there.
    const volumes: Json[] = [{ name: 'abctl-config', configMap: { name: n.config, optional: false } }];
    const mounts: Json[] = [{ name: 'abctl-config', mountPath: CONFIG_DIR, readOnly: true }];
    if (hasSecret) {
      volumes.push({ name: 'abctl-secret', secret: { secretName: n.secret, defaultMode: 0o400, optional: false } });
      mounts.push({ name: 'abctl-secret', mountPath: SECRET_DIR, readOnly: true });
    }
    const claimTemplates: Json[] = [];
    const seeds: { volume: string; root: string }[] = [];
    for (const fs of defs) {
      // Named after the appliance that owns the file set: atomic siblings share its claims.
      const fsWhere = `appliance "${fsOwner.join('/')}" > file set "${fs.name}"`;
      const volumeName = book.name({ kind: `volume of ${slot.key}`, parts: ['fs', fs.name], owner: fsWhere });
      if (fs.scope === 'local') {
        if (!fs.stateful) continue; // In the image.
        claimTemplates.push({
          metadata: { name: volumeName, labels: n.selector },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: volumeSize } } },
        });
        mounts.push({ name: volumeName, mountPath: fs.root });
        seeds.push({ volume: volumeName, root: fs.root });
        continue;
      }
      if (fs.sharedType === 'NFS') {
        const target = planMountTarget(fsNode, fs.name) ?? (fs.mountTarget?.source === 'definition' ? fs.mountTarget.target : undefined);
        const claim = book.name({ kind: 'PersistentVolumeClaim', parts: [...fsOwner, fs.name], owner: fsWhere });
        const claimOwner = fsOwner.join('/');
        if (!objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim)) {
          const fsAnn = { [ANNOTATIONS.assembly]: assembly.name, [ANNOTATIONS.appliance]: claimOwner, [ANNOTATIONS.fileSet]: fs.name };
          let volumeName2: string | undefined;
          if (target !== undefined) {
            const sep = target.indexOf(':');
            volumeName2 = book.name({ kind: 'PersistentVolume', parts: [opts.namespace ?? assembly.name, claim], owner: fsWhere, max: MAX_SUBDOMAIN });
            objects.push({
              apiVersion: 'v1',
              kind: 'PersistentVolume',
              metadata: meta('PersistentVolume', volumeName2, n.labels, fsAnn),
              spec: {
                capacity: { storage: volumeSize },
                accessModes: ['ReadWriteMany'],
                persistentVolumeReclaimPolicy: 'Retain',
                storageClassName: '',
                nfs: { server: target.slice(0, sep), path: target.slice(sep + 1) },
                claimRef: { ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), name: claim },
              },
            });
          } else {
            warnings.push(`${fsWhere}: no NFS mount target in the plan, so the claim takes whatever ReadWriteMany volume the cluster provides`);
          }
          objects.push({
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: meta('PersistentVolumeClaim', claim, n.labels, fsAnn),
            spec: {
              accessModes: ['ReadWriteMany'],
              resources: { requests: { storage: volumeSize } },
              ...(volumeName2 !== undefined ? { storageClassName: '', volumeName: volumeName2 } : {}),
            },
          });
        }
        volumes.push({ name: volumeName, persistentVolumeClaim: { claimName: claim } });
        mounts.push({ name: volumeName, mountPath: fs.root });
        // A captured NFS set is filled from the image the first time (while the volume is empty).
        if (fs.captured) seeds.push({ volume: volumeName, root: fs.root });
      } else if (fs.sharedType === 'DISK_IMAGE') {
        warnings.push(`${fsWhere}: a shared DISK_IMAGE has no Kubernetes equivalent; its captured files are in the image, so each pod has its own copy`);
      } else {
        warnings.push(`${fsWhere}: a RAW device has no Kubernetes equivalent; it is left out`);
      }
    }

    const container: Record<string, Json> = {
      name: n.base,
      image: opts.image(slot),
      env: [
        { name: CONFIG_DIR_ENV, value: CONFIG_DIR },
        { name: SECRET_DIR_ENV, value: SECRET_DIR },
      ],
      ports: containerPorts(app),
      volumeMounts: mounts,
      startupProbe: probe(5, 120),
      readinessProbe: probe(10, 3),
      livenessProbe: probe(30, 3),
    };
    const requests: Record<string, string> = {};
    if (app.resources.cpus !== undefined) requests['cpu'] = String(app.resources.cpus);
    if (app.resources.memoryMiB !== undefined) requests['memory'] = `${app.resources.memoryMiB}Mi`;
    if (Object.keys(requests).length > 0) container['resources'] = { requests };

    const antiAffinity = slot.node?.synthetic.find((s) => s.name === 'antiAffinity')?.value === 'true';
    const podSpec: Record<string, Json> = {
      terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
      ...(seeds.length > 0 ? { initContainers: [seedContainer(opts.image(slot), seeds)] } : {}),
      containers: [container],
      volumes,
    };
    if (antiAffinity) {
      podSpec['affinity'] = {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: n.selector }, topologyKey: 'kubernetes.io/hostname' }] },
      };
    }
    // A changed configuration rolls the pods (the hash covers the ConfigMap only: a hash of a password could be guessed back).
    const podAnnotations = { ...annotations, [ANNOTATIONS.configSha256]: createHash('sha256').update(stableJson(configData)).digest('hex') };
    const template = { metadata: { labels: podLabels, annotations: podAnnotations }, spec: podSpec };
    const replicas = plannedCount(slot);
    const stateful = claimTemplates.length > 0;
    if (hasHosts(slot.node)) warnings.push(`${owner(slot)}: the plan's host lines are not used: Kubernetes schedules the pods`);
    if (stateful) {
      const headless = n.workload;
      objects.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('Service', headless, n.labels, annotations),
        spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: n.selector, ports: servicePorts(app) },
      });
      objects.push({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta('StatefulSet', n.workload, n.labels, annotations),
        spec: { serviceName: headless, replicas, selector: { matchLabels: n.selector }, template, volumeClaimTemplates: claimTemplates },
      });
    } else {
      objects.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('Deployment', n.workload, n.labels, annotations),
        spec: { replicas, selector: { matchLabels: n.selector }, template },
      });
    }
    for (const input of app.inputs) {
      const port = portOf(app, input);
      if (port === undefined) continue;
      objects.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('Service', n.services.get(input.name) as string, n.labels, { ...annotations, 'abctl.io/input': input.name }),
        spec: { type: 'ClusterIP', selector: n.selector, ports: [{ name: portName(input.name) ?? `p${port}`, port, targetPort: port, protocol: protocolOf(input) }] },
      });
    }
    const s = app.scalability;
    const minReplicas = Math.max(1, s.min);
    if (s.max > minReplicas) {
      objects.push({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: meta('HorizontalPodAutoscaler', n.workload, n.labels, annotations),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: stateful ? 'StatefulSet' : 'Deployment', name: n.workload },
          minReplicas,
          maxReplicas: s.max,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: HPA_CPU_TARGET } } }],
        },
      });
      if (app.resources.cpus === undefined) warnings.push(`${owner(slot)}: no CPU requirement in the metadata, so the autoscaler has no CPU request to measure use against`);
    }
  }

  objects.push(...externalObjects(links, overlaid, externalServices, meta, assembly.name));

  for (const [key, v] of [...vnetKeys.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const from: Json[] = [{ podSelector: { matchLabels: { [v.label]: 'true' } } }];
    const ingress: Json[] = [{ from }];
    if (v.vnet.cidr !== undefined) ingress.push({ from: [{ ipBlock: { cidr: v.vnet.cidr } }] });
    const name = `vnet-${v.label.slice('vnet.abctl.io/'.length)}`;
    objects.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('NetworkPolicy', name, { [LABELS.instance]: assemblyLabel, [LABELS.partOf]: assemblyLabel, [LABELS.managedBy]: 'abctl' }, { [ANNOTATIONS.assembly]: assembly.name, [ANNOTATIONS.vnet]: key }),
      spec: { podSelector: { matchLabels: { [v.label]: 'true' } }, policyTypes: ['Ingress'], ingress },
    });
  }
  return { objects, warnings };
}

function hasHosts(node: PlanNode | undefined): boolean {
  return (node?.hosts ?? []).some((h) => h.hostname !== '' || h.address !== '' || (h.target ?? '') !== '');
}

function probe(periodSeconds: number, failureThreshold: number): Json {
  return { exec: { command: [...PING_COMMAND] }, periodSeconds, timeoutSeconds: 30, failureThreshold };
}

function containerPorts(app: Appliance): Json[] {
  const out: Json[] = [];
  const used = new Set<string>();
  for (const input of app.inputs) {
    const port = portOf(app, input);
    if (port === undefined) continue;
    let name = portName(input.name) ?? `p${port}`;
    if (used.has(name)) name = `p${port}`;
    used.add(name);
    out.push({ name, containerPort: port, protocol: protocolOf(input) });
  }
  return out;
}

function servicePorts(app: Appliance): Json[] {
  return app.inputs.flatMap((input) => {
    const port = portOf(app, input);
    return port === undefined ? [] : [{ name: portName(input.name) ?? `p${port}`, port, targetPort: port, protocol: protocolOf(input) }];
  });
}

/**
 * Copies what the image holds at a file set's root into its fresh volume, once: a volume
 * mounted over the root would otherwise hide the captured files. Needs `sh`, `ls` and `cp`
 * in the base image.
 */
function seedContainer(image: string, seeds: readonly { volume: string; root: string }[]): Json {
  const steps = seeds.map((s, i) => {
    const at = `/abctl-seed/${i}`;
    return `n=0; for f in $(ls -A ${at}); do [ "$f" = lost+found ] || n=1; done; [ $n = 1 ] || cp -a ${shQuote(`${s.root.replace(/\/+$/, '')}/.`)} ${at}/`;
  });
  return {
    name: 'abctl-seed',
    image,
    command: ['/bin/sh', '-c', `set -e; ${steps.join('; ')}`],
    volumeMounts: seeds.map((s, i) => ({ name: s.volume, mountPath: `/abctl-seed/${i}` })),
  };
}

/** Per connected output, its peers as Services: the name the cluster's DNS answers, and the port. */
function bindingsFor(slot: ApplianceSlot, links: readonly Link[], overlaid: Assembly, serviceOf: (l: Link) => string): Record<string, PeerBinding[]> {
  const outputs: Record<string, PeerBinding[]> = {};
  for (const l of links.filter((x) => x.from === slot.key)) {
    const peer = peerInput(overlaid, l);
    // peerInput gives the port a plain deploy gives (the plan's value); an external resource may name it in a property.
    const port = peer.port ?? (l.external ? externalPort(peer.properties) : undefined);
    const addresses = l.external ? hostFromProperties(peer.properties).filter((h) => isIP(h) !== 0) : [];
    (outputs[l.output] ??= []).push({ appliance: l.to, input: l.input, external: l.external, hostNames: [serviceOf(l)], addresses, port, properties: peer.properties, ...(peer.secretProperties.length ? { secretProperties: peer.secretProperties } : {}) });
  }
  return outputs;
}

function externalPort(props: Record<string, string>): number | undefined {
  const v = props['port'];
  return v !== undefined && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? Number(v) : undefined;
}

type Meta = (kind: string, name: string, labels: Record<string, string>, annotations: Record<string, string>) => KubeObject['metadata'];

/** An external resource's input: ExternalName for a host name, a selector-less Service with an EndpointSlice for an address. */
function externalObjects(links: readonly Link[], overlaid: Assembly, services: Map<string, string>, meta: Meta, assemblyName: string): KubeObject[] {
  const out: KubeObject[] = [];
  const done = new Set<string>();
  for (const l of links.filter((x) => x.external)) {
    const key = `${l.to}/${l.input}`;
    if (done.has(key)) continue;
    done.add(key);
    const name = services.get(key) as string;
    const peer = peerInput(overlaid, l);
    const host = hostFromProperties(peer.properties)[0];
    const port = peer.port ?? externalPort(peer.properties);
    const labels = { [LABELS.instance]: labelValue(assemblyName), [LABELS.partOf]: labelValue(assemblyName), [LABELS.managedBy]: 'abctl' };
    const annotations = { [ANNOTATIONS.assembly]: assemblyName, [ANNOTATIONS.externalResource]: l.to, 'abctl.io/input': l.input };
    const ports = port === undefined ? [] : [{ name: portName(l.input) ?? `p${port}`, port, protocol: 'TCP' }];
    if (host === undefined) {
      // Nothing to point at: the Service still exists so the name resolves once someone adds endpoints.
      out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta('Service', name, labels, annotations), spec: { clusterIP: 'None', ...(ports.length ? { ports } : {}) } });
      continue;
    }
    const family = isIP(host);
    if (family === 0) {
      out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta('Service', name, labels, annotations), spec: { type: 'ExternalName', externalName: host, ...(ports.length ? { ports } : {}) } });
      continue;
    }
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('Service', name, labels, annotations),
      spec: ports.length ? { ports: ports.map((p) => ({ ...p, targetPort: p.port })) } : { clusterIP: 'None' },
    });
    out.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: meta('EndpointSlice', `${name}-1`.length <= 63 ? `${name}-1` : name, { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'abctl' }, annotations),
      addressType: family === 4 ? 'IPv4' : 'IPv6',
      endpoints: [{ addresses: [host] }],
      ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    });
  }
  return out;
}

/**
 * The `podman` target: instances run as pods of this machine's podman (docs/deployments.md,
 * "podman"). Per appliance, deploy writes its image (services/image, createTemplate) once and
 * loads it into podman's storage; per instance it writes what podman 4.3's `kube play` runs:
 * a ConfigMap (properties.json, bindings.json) and one Pod, plus, in a separate 0600 file that
 * is removed right after it is played, a Secret with the passwords. The container's entrypoint
 * rehydrates and starts the product; the health check is the agent's ping run by `podman exec`.
 *
 * Why one Pod per instance rather than a Deployment with replicas: podman ignores Services and
 * its replicas would clash on host ports. Peers reach each other at fixed pod addresses on a
 * network of the deployment's own (`abctl-<deployment>`), one address per instance kept in
 * the engine's state, so a stopped and started pod keeps the address its peers were given.
 * Instance 1 publishes each input on 127.0.0.1 at the input's port; further instances (scaling)
 * on a free port each, kept in the state too; the record shows the published ports.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerModule, inject, injectable, optional } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import { UserError } from '../../core/errors.js';
import { containerSecretData, splitPeerSecrets } from '../rehydration/peer-secrets.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { applianceAt, applyPlan } from '../rehydration/plan-overlay.js';
import { CONTAINER } from '../rehydration/foreground.js';
import { lastLines, podman, podmanOk, type PodmanCall } from '../engine/podman.js';
import { EngineConnection } from '../engine/connection.js';
import { StateFile } from '../engine/state.js';
import { imageName, imageRepository, LOCAL_REGISTRY } from '../image/names.js';
import type { BaseImage } from '../image/base.js';
import type { Appliance } from '../../core/metadata/index.js';
import { ImageRequirementsCheck } from '../validation/port.js';
import { DeploymentTarget, type EngineInstance, type EngineOptions, type EngineUp, type InstanceEngine, type TargetConnection, type TargetOptions } from './target.js';

export const PODMAN_TARGET = 'podman';
/** Labels on every pod abctl plays: what deployment and instance it belongs to. */
export const POD_LABELS = { deployment: 'abctl.io/deployment', instance: 'abctl.io/instance', appliance: 'abctl.io/appliance' } as const;
const HEALTH_INTERVAL_MS = 500;
const SHORT_MS = 60_000;

interface ImageState {
  readonly reference: string;
  readonly tag: string;
}

/** What the engine keeps per deployment in `<deployment>/podman/state.json`. */
interface EngineState {
  base?: string;
  node?: string;
  network?: string;
  subnet?: string;
  images: Record<string, ImageState>;
  addresses: Record<string, string>;
  hostPorts: Record<string, Record<string, number>>;
}

/** A name Kubernetes and podman accept (DNS label: lower case, digits, '-', at most 63). */
export function podName(deployment: string, instanceId: string): string {
  const n = `${deployment}-${instanceId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return n.length <= 63 ? n : n.slice(0, 63).replace(/-+$/, '');
}

export function networkName(deployment: string): string {
  return podName('abctl', deployment);
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}
function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The lowest address of `subnet` (a.b.c.d/p) after the gateway that `taken` does not hold. */
export function freeAddress(subnet: string, taken: readonly string[]): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
  if (!m) throw new UserError('ENGINE_NETWORK_INVALID', `podman network subnet "${subnet}" is not an IPv4 subnet`, { where: subnet, hint: 'remove the network (podman network rm) and deploy again' });
  const size = 2 ** (32 - Number(m[2]));
  const base = ipv4ToInt(m[1] as string) - (ipv4ToInt(m[1] as string) % size);
  const used = new Set(taken);
  // .0 is the network, .1 podman's gateway, the last one broadcast.
  for (let k = 2; k < size - 1; k++) {
    const ip = intToIpv4(base + k);
    if (!used.has(ip)) return ip;
  }
  throw new UserError('ENGINE_NETWORK_INVALID', `podman network subnet ${subnet} has no free address left`, { where: subnet, hint: 'scale down, or undeploy and deploy again on a larger network' });
}

/** A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it). */
function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Kube documents as JSON (which is YAML): podman reads them and no YAML writer is needed. */
function kubeDocuments(objects: readonly object[]): string {
  return objects.map((o) => JSON.stringify(o, null, 2)).join('\n---\n') + '\n';
}

/** User property values of the appliance with the plan applied: non-passwords for the ConfigMap, passwords for the Secret. */
export function runtimeProperties(req: Pick<EngineUp, 'assembly' | 'plan' | 'appliance'>): { config: Record<string, string>; secret: Record<string, string> } {
  const app = applianceAt(applyPlan(req.assembly, req.plan).assembly, req.appliance);
  const config: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const p of app.properties.list()) {
    // fileRef values name content resources, which the image already holds.
    if (p.category !== 'user' || p.value === undefined || p.type === 'fileRef') continue;
    (p.secret ? secret : config)[p.name] = p.value;
  }
  return { config, secret };
}

export interface PodObjects {
  readonly pod: string;
  /** ConfigMap and Pod: kept beside the record (no secret in it). */
  readonly objects: readonly object[];
  /** The Secret, when the appliance has passwords. */
  readonly secret?: object;
}

/** The objects podman plays for one instance (pure: tests check them without podman). */
export function podObjects(req: Pick<EngineUp, 'deployment' | 'id' | 'appliance' | 'index' | 'ports' | 'assembly' | 'plan' | 'bindings'>, image: string, address: string, hostPorts: Readonly<Record<string, number>>, graceSeconds: number): PodObjects {
  const pod = podName(req.deployment, req.id);
  const labels = { [POD_LABELS.deployment]: podName('', req.deployment) || 'deployment', [POD_LABELS.instance]: pod, [POD_LABELS.appliance]: imageName(req.appliance), 'app.kubernetes.io/managed-by': 'abctl' };
  const { config, secret } = runtimeProperties(req);
  // Peers' password values go to the Secret; the ConfigMap (kept beside the record) has the rest.
  const { bindings, secrets: peerSecrets } = splitPeerSecrets({ instance: { hostName: pod, addresses: [address], index: req.index }, outputs: req.bindings.outputs });
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${pod}-config`, labels },
    data: { [CONTAINER.propertiesFile]: `${JSON.stringify(config)}\n`, [CONTAINER.bindingsFile]: `${JSON.stringify(bindings, null, 2)}\n` },
  };
  const secretData = containerSecretData(secret, peerSecrets, (v) => `${JSON.stringify(v)}\n`);
  const hasSecret = Object.keys(secretData).length > 0;
  const volumes: object[] = [{ name: 'abctl-config', configMap: { name: `${pod}-config` } }];
  const mounts: object[] = [{ name: 'abctl-config', mountPath: CONTAINER.configDir, readOnly: true }];
  if (hasSecret) {
    // optional: false said explicitly: podman 4.3 dereferences the field without checking it.
    volumes.push({ name: 'abctl-secret', secret: { secretName: `${pod}-secret`, optional: false } });
    mounts.push({ name: 'abctl-secret', mountPath: CONTAINER.secretDir, readOnly: true });
  }
  const podObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod, labels },
    spec: {
      hostname: pod,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: graceSeconds,
      containers: [
        {
          name: 'main',
          image,
          env: [{ name: 'ABCTL_INSTANCE_INDEX', value: String(req.index) }],
          ports: req.ports.map((p) => ({ name: p.input.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 15), containerPort: p.port, hostPort: hostPorts[p.input] ?? p.port, hostIP: '127.0.0.1', protocol: 'TCP' })),
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
  return {
    pod,
    objects: [configMap, podObject],
    ...(hasSecret ? { secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${pod}-secret`, labels }, type: 'Opaque', data: secretData } } : {}),
  };
}

const HEALTH_COMMAND = [CONTAINER.node, CONTAINER.agent, 'ping', '--bundle', CONTAINER.bundle];

class PodmanEngine implements InstanceEngine {
  readonly #states = new Map<string, StateFile<EngineState>>();
  /** Image builds of this command, one per appliance, shared by its instances. */
  readonly #images = new Map<string, Promise<ImageState>>();
  /**
   * The base, opened once per command for every appliance's image: a root file system
   * directory becomes its layer once (a 400 MB Debian base takes tens of seconds to pack).
   */
  #base: { readonly spec: string; readonly work: string; readonly opened: Promise<BaseImage> } | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly catalog: Catalog,
    private readonly plugins: PluginInventoryService,
    private readonly imageCheck: ImageRequirementsCheck | undefined,
  ) {}

  #dir(i: EngineInstance): string {
    return join(i.deploymentDir, 'podman');
  }

  #state(i: EngineInstance): StateFile<EngineState> {
    const file = join(this.#dir(i), 'state.json');
    let s = this.#states.get(file);
    if (!s) this.#states.set(file, (s = new StateFile<EngineState>(file, () => ({ images: {}, addresses: {}, hostPorts: {} }))));
    return s;
  }

  #call(i: EngineInstance, timeoutMs = i.timeoutMs): PodmanCall {
    return { timeoutMs, signal: i.signal, onOutput: i.onOutput, where: i.id };
  }

  /** The appliance's image in podman's storage: written and loaded once, reused while podman has it. */
  #image(req: EngineUp): Promise<ImageState> {
    let p = this.#images.get(req.appliance);
    if (!p) {
      p = this.#loadImage(req);
      p.catch(() => {});
      this.#images.set(req.appliance, p);
    }
    return p;
  }

  async #loadImage(req: EngineUp): Promise<ImageState> {
    const state = this.#state(req);
    const known = (await state.read()).images[req.appliance];
    if (known && (await podman(['image', 'exists', known.reference], this.#call(req, SHORT_MS))).code === 0) return known;
    const base = this.options.base ?? (await state.read()).base;
    if (base === undefined) {
      throw new UserError('ENGINE_BASE_MISSING', `the podman target needs a base image to build the image of "${req.appliance}"`, {
        where: req.id,
        hint: 'give one with deploy --base DIR (a root file system directory, an OCI image layout or an oci-archive; docs/images.md says how to make one)',
      });
    }
    const node = this.options.node ?? (await state.read()).node;
    const { createTemplates } = await import('../image/image-writer.js');
    const openedBase = await this.#openBase(base);
    // podman names an image pulled from a layout after its path and refuses upper case there: a lower-case temp dir.
    const out = join(tmpdir(), `abctl-podman-${randomBytes(6).toString('hex')}`);
    req.onOutput(Buffer.from(`writing the image of ${req.appliance} over ${base}\n`));
    const [written] = await createTemplates({
      catalog: this.catalog,
      inventory: await this.plugins.get(),
      appliance: req.appliance,
      assembly: req.assembly.name,
      base,
      openedBase,
      outDir: out,
      ...(node !== undefined ? { node } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      // The plugins' requirements against the base, as createTemplate checks them, before the image is written.
      ...(this.imageCheck ? { check: (b: BaseImage, appliances: readonly { readonly label: string; readonly appliance: Appliance }[]) => this.#check(req, b, appliances) } : {}),
    });
    if (!written) throw new Error(`internal error: no image written for ${req.appliance}`);
    const reference = `${LOCAL_REGISTRY}/${imageRepository(req.appliance)}:${written.tag}`;
    try {
      // The tag is the manifest digest's start: an image podman already has under it is the same image.
      if ((await podman(['image', 'exists', reference], this.#call(req, SHORT_MS))).code !== 0) {
        const id = lastLines(await podmanOk(['pull', '--quiet', `oci:${written.dir}:${written.tag}`], this.#call(req)), 1);
        await podmanOk(['tag', id, reference], this.#call(req, SHORT_MS));
        // Only abctl's name stays, so that removing it removes the image.
        const names = JSON.parse(await podmanOk(['image', 'inspect', id, '--format', '{{json .RepoTags}}'], this.#call(req, SHORT_MS))) as string[] | null;
        for (const n of names ?? []) if (n !== reference) await podmanOk(['untag', id, n], this.#call(req, SHORT_MS));
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    const image = { reference, tag: written.tag };
    await state.update((s) => {
      s.images[req.appliance] = image;
      s.base = base;
      if (node !== undefined) s.node = node;
    });
    return image;
  }

  /** One check at a time: each starts the plugins for its hooks and stops them after. */
  #checks: Promise<unknown> = Promise.resolve();

  #check(req: EngineUp, base: BaseImage, appliances: readonly { readonly label: string; readonly appliance: Appliance }[]): Promise<void> {
    const run = async (): Promise<void> => {
      await this.imageCheck?.beforeImage(base, appliances, { ...(req.signal ? { signal: req.signal } : {}), warn: (line) => req.onOutput(Buffer.from(`${line}\n`)) });
    };
    const next = this.#checks.then(run, run);
    this.#checks = next.catch(() => {});
    return next;
  }

  #openBase(spec: string): Promise<BaseImage> {
    if (this.#base?.spec !== spec) {
      const work = join(tmpdir(), `abctl-podman-base-${randomBytes(6).toString('hex')}`);
      const opened = mkdir(work, { recursive: true }).then(async () => (await import('../image/base.js')).openBase(spec, { workDir: work }));
      opened.catch(() => {});
      void this.close();
      this.#base = { spec, work, opened };
    }
    return this.#base.opened;
  }

  /** Removes the opened base's packed layer; called when the deploy command's connection closes. */
  async close(): Promise<void> {
    const b = this.#base;
    this.#base = undefined;
    if (!b) return;
    await b.opened.then((o) => o.close()).catch(() => {});
    await rm(b.work, { recursive: true, force: true });
  }

  /** The deployment's own network, made on first use; fixed pod addresses come from its subnet. */
  async #network(i: EngineInstance, s: EngineState): Promise<{ network: string; subnet: string }> {
    const network = networkName(i.deployment);
    if ((await podman(['network', 'exists', network], this.#call(i, SHORT_MS))).code !== 0) {
      await podmanOk(['network', 'create', '--label', `${POD_LABELS.deployment}=${podName('', i.deployment)}`, network], this.#call(i, SHORT_MS));
    }
    const subnet = (await podmanOk(['network', 'inspect', network, '--format', '{{range .Subnets}}{{.Subnet}} {{end}}'], this.#call(i, SHORT_MS))).split(/\s+/).find((x) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(x));
    if (!subnet) throw new UserError('ENGINE_NETWORK_INVALID', `podman network ${network} has no IPv4 subnet`, { where: network, hint: `remove it (podman network rm ${network}) and deploy again` });
    s.network = network;
    s.subnet = subnet;
    return { network, subnet };
  }

  async up(req: EngineUp): Promise<{ hostname: string; address: string; ports: readonly { input: string; port: number }[] }> {
    const image = await this.#image(req);
    const placed = await this.#state(req).update(async (s) => {
      const { network, subnet } = await this.#network(req, s);
      const address = s.addresses[req.id] ?? freeAddress(subnet, Object.entries(s.addresses).filter(([k]) => k !== req.id).map(([, v]) => v));
      s.addresses[req.id] = address;
      const ports: Record<string, number> = { ...(s.hostPorts[req.id] ?? {}) };
      for (const p of req.ports) ports[p.input] ??= req.index === 1 ? p.port : await freeLocalPort();
      s.hostPorts[req.id] = ports;
      return { network, address, ports };
    });
    const grace = Math.max(10, Math.ceil(req.timeoutMs / 1000));
    const dir = this.#dir(req);
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${req.id}.yaml`);
    let objects: PodObjects;
    for (let attempt = 1; ; attempt++) {
      objects = podObjects(req, image.reference, placed.address, placed.ports, grace);
      await writeFile(file, kubeDocuments(objects.objects));
      // Again (new bindings after scaling, a resumed deploy, a retry): the old pod goes first, stopped gracefully.
      await this.#removePod(req, objects.pod);
      if (objects.secret) {
        const secretFile = join(dir, `${req.id}.secret.yaml`);
        await writeFile(secretFile, kubeDocuments([objects.secret]), { mode: 0o600 });
        try {
          await podmanOk(['kube', 'play', secretFile], this.#call(req, SHORT_MS));
        } finally {
          await rm(secretFile, { force: true });
        }
      }
      try {
        await podmanOk(['kube', 'play', '--network', placed.network, '--ip', placed.address, file], this.#call(req));
        break;
      } catch (err) {
        // A port abctl chose (instances after the first) was taken by another program between the
        // choice and podman's bind: choose others, a few times. The plan's own ports are not changed.
        if (req.index === 1 || attempt >= 3 || !(err instanceof Error) || !/address already in use/.test(err.message)) throw err;
        req.onOutput(Buffer.from(`a chosen port was taken meanwhile; choosing others (attempt ${attempt + 1})\n`));
        placed.ports = await this.#state(req).update(async (st) => {
          const fresh: Record<string, number> = {};
          for (const p of req.ports) fresh[p.input] = await freeLocalPort();
          st.hostPorts[req.id] = fresh;
          return fresh;
        });
      }
    }
    await this.#healthy(req, objects.pod);
    return { hostname: objects.pod, address: placed.address, ports: req.ports.map((p) => ({ input: p.input, port: placed.ports[p.input] ?? p.port })) };
  }

  /** Waits (bounded by the step's limit) until the agent's ping passes in the container; fails when the container exits. */
  async #healthy(i: EngineInstance, pod: string): Promise<void> {
    const container = `${pod}-main`;
    const deadline = Date.now() + i.timeoutMs;
    for (;;) {
      const state = (await podmanOk(['container', 'inspect', container, '--format', '{{.State.Status}} {{.State.ExitCode}}'], this.#call(i, SHORT_MS))).split(' ');
      if (state[0] === 'exited' || state[0] === 'stopped') {
        const logs = await podman(['logs', '--tail', '20', container], { timeoutMs: SHORT_MS, where: i.id });
        throw new UserError('ENGINE_INSTANCE_FAILED', `the container of ${i.id} exited (code ${state[1] ?? '?'}) before it was healthy: ${lastLines(logs.out, 3)}`, { where: i.id, hint: `podman logs ${container} shows all it wrote` });
      }
      if (state[0] === 'running') {
        const r = await podman(['exec', container, ...HEALTH_COMMAND], { timeoutMs: SHORT_MS, signal: i.signal, where: i.id });
        if (r.code === 0) {
          i.onOutput(Buffer.from(`healthy: ${lastLines(r.out, 1)}\n`));
          return;
        }
      }
      if (Date.now() > deadline) {
        throw new UserError('DEPLOY_TIMEOUT', `${i.id} was not healthy within ${Math.round(i.timeoutMs / 1000)} s`, { where: i.id, hint: `see podman logs ${container}; raise the limit with AB_DEPLOY_STEP_TIMEOUT_MS if it is just slow` });
      }
      await new Promise((r) => setTimeout(r, HEALTH_INTERVAL_MS));
    }
  }

  async #removePod(i: EngineInstance, pod: string): Promise<void> {
    if ((await podman(['pod', 'exists', pod], this.#call(i, SHORT_MS))).code === 0) {
      // SIGTERM first, with the step's time: the agent runs the stop chain before the pod goes.
      await podman(['pod', 'stop', '--time', String(Math.ceil(i.timeoutMs / 1000)), pod], this.#call(i, i.timeoutMs + SHORT_MS));
      await podmanOk(['pod', 'rm', '--force', pod], this.#call(i, SHORT_MS));
    }
    // kube play keeps the Secret in podman's secret store and both mounts as named volumes.
    const secret = `${pod}-secret`;
    const listed = await podman(['secret', 'ls', '--format', '{{.Name}}'], this.#call(i, SHORT_MS));
    if (listed.out.split('\n').some((l) => l.trim() === secret)) await podmanOk(['secret', 'rm', secret], this.#call(i, SHORT_MS));
    for (const volume of [`${pod}-config`, secret]) {
      if ((await podman(['volume', 'exists', volume], this.#call(i, SHORT_MS))).code === 0) await podmanOk(['volume', 'rm', '--force', volume], this.#call(i, SHORT_MS));
    }
  }

  async stop(i: EngineInstance): Promise<void> {
    const pod = podName(i.deployment, i.id);
    await podmanOk(['pod', 'stop', '--time', String(Math.ceil(i.timeoutMs / 1000)), pod], this.#call(i, i.timeoutMs + SHORT_MS));
  }

  async start(i: EngineInstance): Promise<void> {
    const pod = podName(i.deployment, i.id);
    await podmanOk(['pod', 'start', pod], this.#call(i));
    await this.#healthy(i, pod);
  }

  async ping(i: EngineInstance): Promise<{ code: number; lastLine: string }> {
    const container = `${podName(i.deployment, i.id)}-main`;
    const r = await podman(['exec', container, ...HEALTH_COMMAND], this.#call(i, Math.min(i.timeoutMs, SHORT_MS)));
    return { code: r.code, lastLine: lastLines(r.out, 1) };
  }

  async remove(i: EngineInstance): Promise<void> {
    const pod = podName(i.deployment, i.id);
    const file = join(this.#dir(i), `${i.id}.yaml`);
    // kube down of the file played, then whatever is left of the pod (a file lost, a half-made pod).
    if (existsSync(file) && (await podman(['pod', 'exists', pod], this.#call(i, SHORT_MS))).code === 0) {
      await podman(['pod', 'stop', '--time', String(Math.ceil(i.timeoutMs / 1000)), pod], this.#call(i, i.timeoutMs + SHORT_MS));
      await podmanOk(['kube', 'down', file], this.#call(i, SHORT_MS));
    }
    await this.#removePod(i, pod);
    await rm(file, { force: true });
    await this.#state(i).update(async (s) => {
      delete s.addresses[i.id];
      delete s.hostPorts[i.id];
      if (Object.keys(s.addresses).length > 0) return;
      // The last instance: the images this deployment loaded and its network go too.
      for (const [appliance, image] of Object.entries(s.images)) {
        const r = await podman(['rmi', image.reference], this.#call(i, SHORT_MS));
        // Another deployment of the same image still uses it: it stays for that one.
        if (r.code === 0 || /image not known|in use/i.test(r.out)) delete s.images[appliance];
        else throw new UserError('ENGINE_COMMAND_FAILED', `podman rmi ${image.reference} failed: ${lastLines(r.out, 2)}`, { where: i.id, hint: 'run undeploy again' });
      }
      const network = networkName(i.deployment);
      if ((await podman(['network', 'exists', network], this.#call(i, SHORT_MS))).code === 0) await podmanOk(['network', 'rm', network], this.#call(i, SHORT_MS));
      delete s.network;
      delete s.subnet;
    });
  }
}

class PodmanConnection extends EngineConnection {
  constructor(
    spec: string,
    private readonly podmanEngine: PodmanEngine,
  ) {
    super(spec, podmanEngine);
  }

  override async close(): Promise<void> {
    await this.podmanEngine.close();
  }

  async check(): Promise<{ node: string }> {
    const r = await podman(['version', '--format', '{{.Client.Version}}'], { timeoutMs: SHORT_MS });
    if (r.code !== 0) throw new UserError('ENGINE_PODMAN_MISSING', `podman does not work here: ${lastLines(r.out, 2)}`, { where: PODMAN_TARGET, hint: 'install it (apt-get install podman runc iptables catatonit) and check `podman info`' });
    return { node: `podman ${r.out.trim()}` };
  }
}

@injectable()
export class PodmanDeploymentTarget implements DeploymentTarget {
  readonly kind = PODMAN_TARGET;
  constructor(
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ImageRequirementsCheck) @optional() private readonly imageCheck?: ImageRequirementsCheck,
  ) {}

  accepts(spec: string): boolean {
    return spec === PODMAN_TARGET;
  }

  async open(_spec: string, options: TargetOptions): Promise<TargetConnection> {
    return new PodmanConnection(PODMAN_TARGET, new PodmanEngine(options.engine ?? {}, this.catalog, this.plugins, this.imageCheck));
  }
}

/** Contributes the `podman` target. */
export const podmanTargetModule = new ContainerModule(({ bind }) => {
  bind<DeploymentTarget>(DeploymentTarget).to(PodmanDeploymentTarget).inSingletonScope();
});

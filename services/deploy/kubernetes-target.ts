/**
 * The `kubernetes:CONTEXT` target: the assembly runs in the cluster a kubeconfig context names
 * (docs/deployments.md, "kubernetes"). deploy writes each appliance's image (createTemplate's
 * code), pushes it with `skopeo copy` to the registry the user names (`--registry`), writes the
 * manifests exportKubernetes writes (same model, same files) and applies them with
 * `kubectl --context C apply -k DIR`, then waits for each workload's rollout. The cluster
 * schedules the pods and Services name the peers, so instances are replicas here: scaling sets
 * a workload's replicas, stop scales it to 0 and start back, undeploy deletes what was applied.
 *
 * Secrets: the exporter writes them to 0600 files; they are removed as soon as kubectl has
 * applied them (their names are kept to delete them at undeploy) and never are on a command line.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerModule, inject, injectable, optional } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import type { Appliance } from '../../core/metadata/index.js';
import { ANNOTATIONS } from '../../core/kubernetes/index.js';
import { UserError } from '../../core/errors.js';
import { DeploymentPlanService } from '../editing/deployment-plans.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { applyPlan } from '../rehydration/plan-overlay.js';
import { CONTAINER } from '../rehydration/foreground.js';
import { checked, lastLines, runTool, type PodmanCall } from '../engine/podman.js';
import { EngineConnection } from '../engine/connection.js';
import { StateFile } from '../engine/state.js';
import type { BaseImage } from '../image/base.js';
import { imageName } from '../image/names.js';
import { ImageRequirementsCheck } from '../validation/port.js';
import { DeploymentTarget, type EngineInstance, type EngineOptions, type EngineUp, type InstanceEngine, type TargetConnection, type TargetOptions } from './target.js';
import { appliancesOf } from './topology.js';

const SPEC = /^kubernetes:(.+)$/;
const SHORT_MS = 60_000;
const HEALTH_COMMAND = [CONTAINER.node, CONTAINER.agent, 'ping', '--bundle', CONTAINER.bundle];

interface KubeState {
  context?: string;
  registry?: string;
  base?: string;
  /** Appliance key -> pushed image reference. */
  images: Record<string, string>;
  /** Appliance key -> `deployment/NAME` or `statefulset/NAME`. */
  workloads: Record<string, string>;
  replicas: Record<string, number>;
  /** Names of the Secrets applied (their files are gone). */
  secrets: string[];
}

const emptyState = (): KubeState => ({ images: {}, workloads: {}, replicas: {}, secrets: [] });

class KubernetesEngine implements InstanceEngine {
  #applied: Promise<void> | undefined;
  readonly #once = new Map<string, Promise<void>>();
  readonly #lowering = new Map<string, Promise<void>>();
  #stateFile: StateFile<KubeState> | undefined;

  constructor(
    private readonly context: string,
    private readonly options: EngineOptions,
    private readonly catalog: Catalog,
    private readonly plugins: PluginInventoryService,
    private readonly plans: DeploymentPlanService,
    private readonly imageCheck: ImageRequirementsCheck | undefined,
  ) {}

  #dir(i: EngineInstance): string {
    return join(i.deploymentDir, 'kubernetes');
  }

  #state(i: EngineInstance): StateFile<KubeState> {
    this.#stateFile ??= new StateFile<KubeState>(join(this.#dir(i), 'state.json'), emptyState);
    return this.#stateFile;
  }

  #call(i: EngineInstance, timeoutMs = i.timeoutMs): PodmanCall {
    return { timeoutMs, signal: i.signal, onOutput: i.onOutput, where: i.id };
  }

  /** `kubectl --context C ARGS`; a non-zero exit is an error with kubectl's message. */
  async kubectl(args: readonly string[], call: PodmanCall): Promise<string> {
    const all = ['--context', this.context, ...args];
    return checked('kubectl', all, await runTool('kubectl', all, call, {}, 'kubectl from https://kubernetes.io/docs/tasks/tools/ (or your distribution), with a kubeconfig naming the context'), call, `check the context with kubectl --context ${this.context} get nodes`);
  }

  /** Once per command and appliance (several instances of one workload share one kubectl call). */
  #onceFor(key: string, fn: () => Promise<void>): Promise<void> {
    let p = this.#once.get(key);
    if (!p) {
      p = fn();
      this.#once.set(key, p);
    }
    return p;
  }

  /** Images built and pushed, manifests written and applied: once per command, for the whole assembly. */
  #apply(req: EngineUp): Promise<void> {
    this.#applied ??= this.#applyAll(req);
    return this.#applied;
  }

  async #applyAll(req: EngineUp): Promise<void> {
    const state = this.#state(req);
    const known = await state.read();
    const registry = (this.options.registry ?? known.registry)?.replace(/\/+$/, '');
    if (!registry) {
      throw new UserError('ENGINE_REGISTRY_MISSING', 'the kubernetes target pushes the appliance images to a registry the cluster can pull from', {
        where: req.id,
        hint: 'name it with deploy --registry HOST[:PORT]/PATH (e.g. registry.example.com:5000/team)',
      });
    }
    const base = this.options.base ?? known.base;
    if (base === undefined) {
      throw new UserError('ENGINE_BASE_MISSING', 'the kubernetes target needs a base image to build the appliance images', { where: req.id, hint: 'give one with deploy --base DIR (docs/images.md)' });
    }
    const slots = appliancesOf(applyPlan(req.assembly, req.plan).assembly, req.plan);
    const [{ createTemplates }, { openBase }] = await Promise.all([import('../image/image-writer.js'), import('../image/base.js')]);
    const imagesDir = join(tmpdir(), `abctl-kube-${randomBytes(6).toString('hex')}`);
    await mkdir(imagesDir, { recursive: true });
    // One base for every image: a root file system is packed once, not once per appliance.
    const openedBase = await openBase(base, { workDir: imagesDir });
    try {
      for (const slot of slots) {
        req.onOutput(Buffer.from(`writing the image of ${slot.key} over ${base}\n`));
        const [written] = await createTemplates({
          catalog: this.catalog,
          inventory: await this.plugins.get(),
          appliance: slot.key,
          assembly: req.assembly.name,
          base,
          openedBase,
          outDir: imagesDir,
          ...((this.options.node ?? undefined) !== undefined ? { node: this.options.node as string } : {}),
          ...(req.signal ? { signal: req.signal } : {}),
          // The plugins' requirements against the base, as createTemplate and the podman target check them.
          ...(this.imageCheck
            ? {
                check: async (b: BaseImage, appliances: readonly { readonly label: string; readonly appliance: Appliance }[]) => {
                  await this.imageCheck?.beforeImage(b, appliances, { ...(req.signal ? { signal: req.signal } : {}), warn: (line) => req.onOutput(Buffer.from(`${line}\n`)) });
                },
              }
            : {}),
        });
        if (!written) throw new Error(`internal error: no image written for ${slot.key}`);
        const reference = `${registry}/${imageName(slot.key)}:${written.tag}`;
        const args = ['copy', '--quiet', `oci:${written.dir}:${written.tag}`, `docker://${reference}`];
        checked('skopeo', args, await runTool('skopeo', args, this.#call(req), {}, 'apt-get install skopeo'), this.#call(req), 'check that the registry is reachable and that you are logged in (skopeo login / podman login)');
        await state.update((s) => {
          s.images[slot.key] = reference;
        });
      }
      // The manifests exportKubernetes writes, with the pushed images' references.
      const { KubernetesExporter } = await import('../kubernetes/exporter.js');
      const exporter = new KubernetesExporter(this.plans);
      const common = { assembly: req.assembly.name, planFile: join(req.deploymentDir, 'plan.xml'), imagesDir, prefix: registry };
      const { objects } = await exporter.build(common);
      const out = join(this.#dir(req), 'manifests');
      const exported = await exporter.export({ ...common, out });
      await this.kubectl(['apply', '-k', out], this.#call(req));
      // Applied: the password files go; kubectl delete -k no longer lists them, so their names are kept.
      const secretFiles = exported.files.filter((f) => f.secret);
      for (const f of secretFiles) await rm(join(out, f.file), { force: true });
      const kustomization = join(out, 'kustomization.yaml');
      const gone = new Set(secretFiles.map((f) => f.file));
      const text = await readFile(kustomization, 'utf8');
      await writeFile(kustomization, text.split('\n').filter((l) => !gone.has(l.replace(/^\s*-\s*/, '').trim())).join('\n'));
      await state.update((s) => {
        s.context = this.context;
        s.registry = registry;
        s.base = base;
        s.secrets = [...new Set([...s.secrets, ...secretFiles.flatMap((f) => f.objects.map((o) => o.name))])];
        for (const o of objects) {
          const appliance = o.metadata.annotations?.[ANNOTATIONS.appliance];
          if (appliance === undefined || (o.kind !== 'Deployment' && o.kind !== 'StatefulSet')) continue;
          s.workloads[appliance] = `${o.kind.toLowerCase()}/${o.metadata.name}`;
          const spec = o['spec'] as { replicas?: number } | undefined;
          s.replicas[appliance] = spec?.replicas ?? 1;
        }
      });
    } finally {
      await openedBase.close();
      await rm(imagesDir, { recursive: true, force: true });
    }
  }

  async #workload(i: EngineInstance): Promise<string> {
    const w = (await this.#state(i).read()).workloads[i.appliance];
    if (!w) throw new UserError('ENGINE_STATE_DAMAGED', `no workload of appliance "${i.appliance}" was applied`, { where: i.id, hint: 'run deploy again' });
    return w;
  }

  async #scaleTo(i: EngineInstance, replicas: number): Promise<void> {
    const w = await this.#workload(i);
    await this.kubectl(['scale', w, `--replicas=${replicas}`], this.#call(i, SHORT_MS));
    await this.#state(i).update((s) => {
      s.replicas[i.appliance] = replicas;
    });
  }

  async #rollout(i: EngineInstance): Promise<void> {
    const seconds = Math.ceil(i.timeoutMs / 1000);
    await this.kubectl(['rollout', 'status', await this.#workload(i), `--timeout=${seconds}s`], this.#call(i, i.timeoutMs + SHORT_MS));
  }

  async up(req: EngineUp): Promise<{ hostname: string; address: string; ports: readonly { input: string; port: number }[] }> {
    // Applied once; later commands (scaling, rebinding) only change replicas.
    if ((await this.#state(req).read()).workloads[req.appliance] === undefined) await this.#apply(req);
    // Instances beyond the applied replicas (scaling up) raise them.
    if (req.index > ((await this.#state(req).read()).replicas[req.appliance] ?? 0)) await this.#scaleTo(req, req.index);
    await this.#onceFor(`rollout ${req.appliance}`, () => this.#rollout(req));
    const w = await this.#workload(req);
    const name = w.slice(w.indexOf('/') + 1);
    // A StatefulSet's pods are NAME-0, NAME-1, ...; a Deployment's are named by the cluster.
    return { hostname: w.startsWith('statefulset/') ? `${name}-${req.index - 1}` : name, address: '', ports: req.ports };
  }

  async stop(i: EngineInstance): Promise<void> {
    const w = await this.#workload(i);
    await this.#onceFor(`stop ${i.appliance}`, () => this.kubectl(['scale', w, '--replicas=0'], this.#call(i, SHORT_MS)).then(() => {}));
  }

  async start(i: EngineInstance): Promise<void> {
    const replicas = (await this.#state(i).read()).replicas[i.appliance] ?? 1;
    const w = await this.#workload(i);
    await this.#onceFor(`start ${i.appliance}`, async () => {
      await this.kubectl(['scale', w, `--replicas=${replicas}`], this.#call(i, SHORT_MS));
      await this.#rollout(i);
    });
  }

  async ping(i: EngineInstance): Promise<{ code: number; lastLine: string }> {
    const w = await this.#workload(i);
    const target = w.startsWith('statefulset/') ? `pod/${w.slice(w.indexOf('/') + 1)}-${i.index - 1}` : w;
    const args = ['--context', this.context, 'exec', target, '--', ...HEALTH_COMMAND];
    const r = await runTool('kubectl', args, this.#call(i, Math.min(i.timeoutMs, SHORT_MS)), {}, 'kubectl');
    return { code: r.code, lastLine: lastLines(r.out, 1) };
  }

  async remove(i: EngineInstance, how: { readonly undeploy: boolean }): Promise<void> {
    const state = await this.#state(i).read();
    const w = state.workloads[i.appliance];
    // Undeploy deletes the workload once for all its instances (they wait for that one call): lowering
    // its replicas first would be a call per instance, and one on a workload already deleted fails.
    if (how.undeploy) return this.#onceFor(`remove ${i.appliance}`, () => this.#removeWorkload(i, w));
    if (w !== undefined && i.index > 1) {
      // The highest instances go first: the workload keeps the ones below. Removals run in
      // parallel and may arrive in any order: one at a time per appliance, and only ever lowering.
      const prev = this.#lowering.get(i.appliance) ?? Promise.resolve();
      const next = prev.then(async () => {
        const replicas = (await this.#state(i).read()).replicas[i.appliance];
        if (replicas === undefined || i.index - 1 < replicas) await this.#scaleTo(i, i.index - 1);
      });
      this.#lowering.set(i.appliance, next.catch(() => {}));
      await next;
      return;
    }
    await this.#removeWorkload(i, w);
  }

  /** Deletes the appliance's workload; with the last one, everything else that was applied. */
  async #removeWorkload(i: EngineInstance, w: string | undefined): Promise<void> {
    if (w !== undefined) await this.kubectl(['delete', w, '--ignore-not-found', `--timeout=${Math.ceil(i.timeoutMs / 1000)}s`], this.#call(i, i.timeoutMs + SHORT_MS));
    await this.#state(i).update(async (s) => {
      delete s.workloads[i.appliance];
      delete s.replicas[i.appliance];
      if (Object.keys(s.workloads).length > 0) return;
      // The last appliance: everything else that was applied (Services, ConfigMaps, ...) and the Secrets.
      const out = join(this.#dir(i), 'manifests');
      await this.kubectl(['delete', '-k', out, '--ignore-not-found'], this.#call(i, i.timeoutMs + SHORT_MS));
      if (s.secrets.length > 0) await this.kubectl(['delete', 'secret', ...s.secrets, '--ignore-not-found'], this.#call(i, SHORT_MS));
      s.secrets = [];
    });
  }
}

class KubernetesConnection extends EngineConnection {
  constructor(
    spec: string,
    private readonly kube: KubernetesEngine,
  ) {
    super(spec, kube);
  }

  async check(): Promise<{ node: string }> {
    const version = await this.kube.kubectl(['version', '--client', '-o', 'json'], { timeoutMs: SHORT_MS, where: this.spec });
    return { node: `kubectl ${version.length > 200 ? version.slice(0, 200) : version}` };
  }
}

@injectable()
export class KubernetesDeploymentTarget implements DeploymentTarget {
  readonly kind = 'kubernetes';
  constructor(
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(DeploymentPlanService) private readonly plans: DeploymentPlanService,
    @inject(ImageRequirementsCheck) @optional() private readonly imageCheck?: ImageRequirementsCheck,
  ) {}

  accepts(spec: string): boolean {
    return SPEC.test(spec);
  }

  async open(spec: string, options: TargetOptions): Promise<TargetConnection> {
    const context = SPEC.exec(spec)?.[1] as string;
    return new KubernetesConnection(spec, new KubernetesEngine(context, options.engine ?? {}, this.catalog, this.plugins, this.plans, this.imageCheck));
  }
}

/** Contributes the `kubernetes:CONTEXT` target. */
export const kubernetesTargetModule = new ContainerModule(({ bind }) => {
  bind<DeploymentTarget>(DeploymentTarget).to(KubernetesDeploymentTarget).inSingletonScope();
});

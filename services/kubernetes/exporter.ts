/**
 * `exportKubernetes`: reads the assembly and the plan (passwords decrypted with the instance
 * key), maps them (manifests.ts), and writes a directory `kubectl apply -k` takes: one YAML
 * file per object or one `all.yaml`, Secrets always in files of their own (mode 0600), and a
 * `kustomization.yaml`. The directory is written beside its final place and renamed into it,
 * so a failed export leaves no half-written directory.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { inject, injectable } from 'inversify';
import { stringify } from 'yaml';
import { describePlanProblem } from '../../core/deployment-plan/index.js';
import { UserError, environmentError } from '../../core/errors.js';
import type { KubeObject } from '../../core/kubernetes/index.js';
import { DeploymentPlanService } from '../editing/deployment-plans.js';
import { applyPlan } from '../rehydration/plan-overlay.js';
import { appliancesOf } from '../deploy/topology.js';
import { resolveImages, type ImageOptions } from './images.js';
import { buildManifests } from './manifests.js';

/** First line of every kustomization.yaml abctl writes: marks a directory it may replace. */
export const KUSTOMIZATION_HEADER = '# Written by abctl exportKubernetes; exporting again replaces this directory.';
export const ALL_FILE = 'all.yaml';
export const SECRETS_FILE = 'secrets.yaml';
export const KUSTOMIZATION_FILE = 'kustomization.yaml';

export interface ExportOptions extends ImageOptions {
  readonly assembly: string;
  readonly planFile: string;
  readonly out: string;
  readonly namespace?: string;
  /** One `all.yaml` (plus `secrets.yaml`) instead of a file per object. */
  readonly singleFile?: boolean;
  readonly volumeSize?: string;
}

export interface ExportedFile {
  readonly file: string;
  readonly objects: readonly { readonly kind: string; readonly name: string }[];
  /** True for files holding Secrets (mode 0600). */
  readonly secret: boolean;
}

export interface ExportResult {
  readonly out: string;
  readonly namespace: string | undefined;
  readonly files: readonly ExportedFile[];
  readonly warnings: readonly string[];
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes quantity such as 1Gi, 500Mi, 10G. */
const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Plain YAML, no folded lines (a long value stays on one line), the key order as built. */
export function toYaml(o: KubeObject): string {
  return stringify(o, { lineWidth: 0, minContentWidth: 0 });
}

function fileName(o: KubeObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

@injectable()
export class KubernetesExporter {
  constructor(@inject(DeploymentPlanService) private readonly plans: DeploymentPlanService) {}

  /** The objects and warnings, without writing anything (for tests and other engines). */
  async build(opts: Omit<ExportOptions, 'out' | 'singleFile'>): Promise<{ objects: readonly KubeObject[]; warnings: readonly string[] }> {
    if (opts.namespace !== undefined && (!NAMESPACE.test(opts.namespace) || opts.namespace.length > 63)) {
      throw new UserError('OPTION_INVALID', `--namespace "${opts.namespace}" is not a Kubernetes namespace name`, { hint: 'use lower-case letters, digits and "-", at most 63 characters, e.g. --namespace shop' });
    }
    if (opts.volumeSize !== undefined && !QUANTITY.test(opts.volumeSize)) {
      throw new UserError('OPTION_INVALID', `--volume-size "${opts.volumeSize}" is not a storage quantity`, { hint: 'e.g. --volume-size 10Gi' });
    }
    const { model, plan, problems } = await this.plans.load(opts.assembly, opts.planFile);
    if (problems.length > 0) {
      throw new UserError('DEPLOY_PLAN_INVALID', `the plan cannot be exported:\n${problems.map((p) => `  ${describePlanProblem(p, opts.planFile)}`).join('\n')}`, {
        where: opts.planFile,
        hint: `fix these, then check with abctl validateDeploymentPlan --assembly ${opts.assembly} --plan ${opts.planFile}`,
      });
    }
    const images = await resolveImages(model.name, appliancesOf(applyPlan(model, plan).assembly, plan), opts);
    return buildManifests(model, plan, {
      image: (slot) => images.get(slot.key) as string,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.volumeSize !== undefined ? { volumeSize: opts.volumeSize } : {}),
    });
  }

  async export(opts: ExportOptions): Promise<ExportResult> {
    const out = resolve(opts.out);
    await this.#checkOut(out);
    const { objects, warnings } = await this.build(opts);
    const groups = new Map<string, KubeObject[]>();
    for (const o of objects) {
      const file = o.kind === 'Secret' ? (opts.singleFile ? SECRETS_FILE : fileName(o)) : opts.singleFile ? ALL_FILE : fileName(o);
      groups.set(file, [...(groups.get(file) ?? []), o]);
    }
    const files: ExportedFile[] = [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([file, list]) => ({ file, objects: list.map((o) => ({ kind: o.kind, name: o.metadata.name })), secret: list.some((o) => o.kind === 'Secret') }));
    const kustomization = [
      KUSTOMIZATION_HEADER,
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        resources: files.map((f) => f.file),
      }),
    ].join('\n');

    await mkdir(dirname(out), { recursive: true }).catch((err: unknown) => {
      throw environmentError(err, dirname(out)) ?? err;
    });
    const stage = await mkdtemp(join(dirname(out), `.${basename(out)}.tmp-`)).catch((err: unknown) => {
      throw environmentError(err, dirname(out)) ?? err;
    });
    try {
      await chmod(stage, 0o755);
      for (const f of files) {
        const text = (groups.get(f.file) ?? []).map(toYaml).join('---\n');
        // The mode is set at creation: a password is never readable by others, not even for a moment.
        await writeFile(join(stage, f.file), text, { mode: f.secret ? 0o600 : 0o644 });
      }
      await writeFile(join(stage, KUSTOMIZATION_FILE), kustomization, { mode: 0o644 });
      await this.#replace(stage, out);
    } catch (err) {
      await rm(stage, { recursive: true, force: true });
      throw environmentError(err, out) ?? err;
    }
    return { out, namespace: opts.namespace, files: [...files, { file: KUSTOMIZATION_FILE, objects: [], secret: false }], warnings };
  }

  /** An existing directory is replaced only when empty or written by an earlier export. */
  async #checkOut(out: string): Promise<void> {
    const st = await stat(out).catch(() => undefined);
    if (st === undefined) return;
    const refuse = (why: string) =>
      new UserError('K8S_OUT_EXISTS', `${why}; it is not overwritten`, { where: out, hint: 'give another --out, or remove it first' });
    if (!st.isDirectory()) throw refuse('this path is a file');
    const entries = await readdir(out);
    if (entries.length === 0) return;
    const head = await readFile(join(out, KUSTOMIZATION_FILE), 'utf8').catch(() => '');
    if (!head.startsWith(KUSTOMIZATION_HEADER)) throw refuse('this directory holds files abctl exportKubernetes did not write');
  }

  async #replace(stage: string, out: string): Promise<void> {
    const old = await stat(out).catch(() => undefined);
    if (old === undefined) {
      await rename(stage, out);
      return;
    }
    const trash = `${stage}.old`;
    await rename(out, trash);
    await rename(stage, out);
    await rm(trash, { recursive: true, force: true });
  }
}

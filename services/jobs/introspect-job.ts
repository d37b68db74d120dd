import { isAbsolute, resolve } from 'node:path';
import { inject, injectable } from 'inversify';
import { PluginError, UserError } from '../../core/errors.js';
import { mergeParameterDefinitions, type DeclaredParameter } from '../../core/job-parameters.js';
import type { Appliance, AtomicAssembly } from '../../core/metadata/index.js';
import type { JobParameterValues } from '../../core/plugin-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { Catalog } from '../../catalog/catalog.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { ReferenceHostFactory } from '../host/connect.js';
import { InstanceLayout } from '../instance.js';
import { callHookSync } from '../plugin-hooks.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { findUpgradeCandidates, upgradeRequiredError } from '../plugins/upgrade-check.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { DehydrationRun, chainParticipants, checkResult, type DehydrationResult } from './dehydration-run.js';
import { captureFileSets, type StagedArchive } from './file-set-capture.js';
import { runJob, type Job, type JobOptions } from './job.js';
import { FileRefCheck } from './fileref-check.js';
import { checkPlatform } from './platform-check.js';
import { checkTemplates } from './template-check.js';
import type { DisabledExtension } from '../../core/plugin-tree.js';
import { pluginChain, resolveCommandTarget, type PluginChain } from './plugin-chain.js';

/** Where the reference host was, kept on the appliance so a later capture finds it again. */
export const REFERENCE_HOST_PROPERTY = 'ovab.referenceHost';

export interface PreparedIntrospection {
  /** The command's target (a plugin, or an alias extension). */
  readonly target: string;
  readonly chain: PluginChain;
  readonly parameters: readonly DeclaredParameter[];
}

export interface IntrospectOptions extends JobOptions {
  /** Name for the resulting appliance or atomic assembly instead of the plugin's choice. */
  readonly name?: string;
  readonly deferCapture?: boolean;
  readonly codec?: CaptureCodec;
}

export interface CapturedArchive {
  readonly appliance: string;
  readonly fileSet: string;
  readonly files: number;
  readonly bytes: number;
  readonly archiveBytes: number;
  readonly sha256: string;
}

/** Printed by `--json`: the field names are an output format scripts read, so they stay as they were. */
export interface IntrospectionSummary {
  readonly plugin: string;
  /** The chain that ran, root first. */
  readonly participants: readonly string[];
  /** Extensions of the chain that did not run because the user disabled them (or an ancestor). */
  readonly disabledExtensions: readonly DisabledExtension[];
  readonly host: string;
  /** What the chain produced. */
  readonly kind: 'appliance' | 'atomicAssembly';
  readonly name: string;
  readonly appliances: readonly {
    name: string;
    type: string;
    properties: number;
    inputs: number;
    outputs: number;
    fileSets: number;
    contentResources: number;
  }[];
  readonly captured: readonly CapturedArchive[];
  readonly captureDeferred: boolean;
  readonly warnings: readonly string[];
}

/**
 * `abctl introspect<name>`: runs a plugin chain against a reference host and stores what it
 * describes. Order: upgrade check, the plugin's dehydrate, each extension after its parent,
 * platform checks, capture checks and capture (unless deferred), then ONE catalog commit of
 * metadata, content and archives, so a failure or a kill at any point stores nothing.
 */
@injectable()
export class IntrospectJob {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
    @inject(Catalog) private readonly catalog: Catalog,
  ) {}

  /** Resolves the command and collects the job parameters of the plugin and its extensions. */
  async prepare(target: string): Promise<PreparedIntrospection> {
    // A broken extension refuses the command here, before any job runs or anything is stored.
    return this.prepareChain(target, false);
  }

  /**
   * What `introspect<target> --help` can show when `prepare` refused: the options of the members
   * that can load (a broken extension and its subtree left out), else the root alone with none.
   * Help must answer even for a chain that cannot run; the refusal is shown beside it.
   */
  async prepareForHelp(target: string): Promise<PreparedIntrospection> {
    try {
      return await this.prepareChain(target, true);
    } catch {
      const root = (await this.plugins.get()).records.get(target)?.rootName ?? target;
      return { target, chain: { root, members: [], disabled: [] }, parameters: [] };
    }
  }

  private async prepareChain(target: string, withoutBroken: boolean): Promise<PreparedIntrospection> {
    const inventory = await this.plugins.get();
    const services = this.registry.createCollector();
    const chain = pluginChain(inventory, services, resolveCommandTarget(inventory, services, target), `introspect${target}`, withoutBroken);
    const parameters = mergeParameterDefinitions(
      // Declarations build the command line before any job runs: a synchronous getter, no time limit to enforce.
      chain.members.map((m) => ({ plugin: m.name, parameters: callHookSync({ plugin: m.name, hook: 'jobParameters' }, () => m.service.jobParameters?.() ?? []) })),
    );
    return { target, chain, parameters };
  }

  async introspect(prepared: PreparedIntrospection, values: JobParameterValues, options: IntrospectOptions = {}): Promise<IntrospectionSummary> {
    const inventory = await this.plugins.get();
    const services = this.registry.createCollector();
    const { chain } = prepared;
    const names = chain.members.map((m) => m.name);
    const spec = { name: 'introspection', interruptedOutcome: 'nothing was stored', tmpDir: this.layout.tmpDir, cacheDir: this.layout.cacheDir, hosts: this.hosts, options };
    return runJob(spec, async (job) => {
      const parameters = absolutePaths(prepared.parameters, values, job.host);
      // Newer plugins shipped with the product are looked for where the product is: on the reference host.
      const candidates = await findUpgradeCandidates(inventory, services, chain.root, parameters, job.host, job.signal);
      if (candidates.length > 0) throw upgradeRequiredError(candidates, job.host.kind === 'local' ? undefined : job.host.describe());

      const result = await dehydrate(job, chain, parameters, options.name, inventory);
      const top = result.atomicAssembly ?? result.appliances[0]!;
      if (await this.nameTaken(top.name)) {
        throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an appliance or assembly named "${top.name}"`, {
          hint: 'choose another with --name, or delete the existing one first (abctl deleteAppliance / deleteAssembly)',
        });
      }
      for (const appliance of result.appliances) {
        appliance.properties.add(
          { name: REFERENCE_HOST_PROPERTY, type: 'string', category: 'system', description: 'reference host the appliance was introspected on', value: job.host.describe() },
          'framework',
        );
      }
      const warnings = await checkPlatform(job, services, names);

      const ownerOf = (appliance: string): string => (result.atomicAssembly ? `${result.atomicAssembly.name}/${appliance}` : appliance);
      const archives = options.deferCapture
        ? []
        : await captureFileSets(job, services, {
            appliances: result.appliances,
            ownerOf,
            chain: names,
            codec: options.codec ?? 'gzip',
            contentOf: async (appliance, resource) => result.content.get(appliance)?.get(resource),
            // Nothing is stored when a check refuses, so there is no appliance to capture later.
            refusalHint: () =>
              `nothing was stored; fix what it reports (e.g. stop the product) and introspect again, or introspect with --defer-capture and run abctl captureFileSets --appliance ${top.name} once the files may be captured`,
          });
      for (const a of archives) for (const s of a.skipped) warnings.push(`${a.appliance}/${a.fileSet}: skipped ${s.path} (${s.reason})`);

      job.checkpoint();
      await this.store(result, ownerOf, archives);
      return summarize(prepared, job.host, result, archives, !!options.deferCapture, warnings);
    });
  }

  private async nameTaken(name: string): Promise<boolean> {
    return (await this.catalog.hasAppliance(name)) || (await this.catalog.hasAssembly(name));
  }

  /** ONE commit for metadata, content and archives: after a failure or a kill, all of it or none is there. */
  private async store(result: DehydrationResult, ownerOf: (appliance: string) => string, archives: readonly StagedArchive[]): Promise<void> {
    const content = [...result.content].flatMap(([appliance, resources]) =>
      [...resources].map(([resource, data]) => ({ owner: ownerOf(appliance), resource, data })),
    );
    const top: Appliance | AtomicAssembly = result.atomicAssembly ?? result.appliances[0]!;
    // createOnly: the early name check ran without the lock; this one settles races.
    await this.catalog.commit({ put: [top], content, captured: archives, createOnly: true });
  }
}

/** The chain's dehydrate hooks, strictly one after the other: each extension sees what came before it. */
async function dehydrate(job: Job, chain: PluginChain, parameters: JobParameterValues, requestedName: string | undefined, inventory: PluginInventory): Promise<DehydrationResult> {
  const root = chain.members[0]!;
  const run = new DehydrationRun({
    rootPlugin: chain.root,
    participants: chainParticipants(inventory, chain.members),
    allowExtensionsToCreateAppliances: root.service.allowExtensionsToCreateAppliances === true,
    parameters,
    host: job.host,
    tmpDir: job.scratchDir,
    requestedName,
  });
  const fileRefs = new FileRefCheck();
  for (const member of chain.members) {
    job.checkpoint();
    const hook = member.service.dehydrate?.bind(member.service);
    if (!hook) {
      if (member.isRoot) throw new PluginError(member.name, 'PLUGIN_CONTRACT', `${member.name} has no dehydrate method`);
      continue;
    }
    const utils = job.utils(member.name, inventory.records.get(member.name)?.directory ?? '');
    const ctx = run.contextFor(member.name, job.logger(member.name), (pct, msg) => job.progress.plugin(member.name, pct, msg), utils);
    job.progress.plugin(member.name, -1, 'dehydrating');
    await job.callWith(member.name, 'dehydrate', utils, () => hook(ctx));
    fileRefs.note(run.result().appliances, member.name);
  }
  const result = run.result();
  checkResult(result, chain.root);
  checkTemplates(result);
  fileRefs.check(result.appliances);
  return result;
}

/** Path parameters are absolute on the reference host; relative ones mean this machine's cwd. */
function absolutePaths(declared: readonly DeclaredParameter[], values: JobParameterValues, host: ReferenceHost): JobParameterValues {
  const out: Record<string, string | number | boolean | undefined> = { ...values };
  for (const p of declared) {
    const v = values[p.name];
    if (p.type !== 'path' || typeof v !== 'string' || isAbsolute(v)) continue;
    if (host.kind !== 'local') {
      throw new UserError('JOB_PARAMETER_VALUE', `--${p.name} must be an absolute path on ${host.describe()}`, { hint: `e.g. /opt/product instead of ${v}` });
    }
    out[p.name] = resolve(v);
  }
  return Object.freeze(out);
}

function summarize(
  prepared: PreparedIntrospection,
  host: ReferenceHost,
  result: DehydrationResult,
  archives: readonly StagedArchive[],
  deferred: boolean,
  warnings: readonly string[],
): IntrospectionSummary {
  const top = result.atomicAssembly ?? result.appliances[0]!;
  return {
    plugin: prepared.chain.root,
    participants: prepared.chain.members.map((m) => m.name),
    disabledExtensions: prepared.chain.disabled,
    host: host.describe(),
    kind: result.atomicAssembly ? 'atomicAssembly' : 'appliance',
    name: top.name,
    appliances: result.appliances.map((a) => ({
      name: a.name,
      type: a.type,
      properties: a.properties.list().length,
      inputs: a.inputs.length,
      outputs: a.outputs.length,
      fileSets: a.fileSets.length,
      contentResources: a.contentResources.length,
    })),
    captured: archives.map((a) => ({ appliance: a.appliance, fileSet: a.fileSet, files: a.files, bytes: a.bytes, archiveBytes: a.archiveBytes, sha256: a.sha256 })),
    captureDeferred: deferred,
    warnings,
  };
}

import { rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { inject, injectable } from 'inversify';
import { PluginError, UserError, errorText } from '../../core/errors.js';
import { mergeParameterDefinitions, type DeclaredParameter } from '../../core/job-parameters.js';
import type { Appliance, AtomicAssembly, FileSetDefinition } from '../../core/metadata/index.js';
import type { JobParameterValues, PluginLogger, ValidationMessage } from '../../core/plugin-contract.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { ServiceIds } from '../../core/service-ids.js';
import { Catalog } from '../../catalog/catalog.js';
import { captureDefinition } from '../archive/definition-capture.js';
import type { CaptureCodec } from '../archive/encoders.js';
import type { CaptureProgress } from '../archive/capture.js';
import { ReferenceHostFactory, type ReferenceHostOptions } from '../host/connect.js';
import { InstanceLayout } from '../instance.js';
import { createJobDir } from './job-dir.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { findUpgradeCandidates, upgradeRequiredError } from '../plugins/upgrade-check.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { DehydrationRun, checkResult, type DehydrationResult } from './dehydration-run.js';
import { participantServices, resolveCommandTarget, type Participant } from './participants.js';

/** Where the reference host was, kept on the appliance so a later capture finds it again. */
export const REFERENCE_HOST_PROPERTY = 'ovab.referenceHost';

export interface PreparedIntrospection {
  /** The command's target (a plugin, or an alias extension). */
  readonly target: string;
  readonly rootPlugin: string;
  readonly participants: readonly Participant[];
  readonly parameters: readonly DeclaredParameter[];
}

export interface IntrospectionProgress {
  plugin(name: string, percent: number, message?: string): void;
  capture(label: string, progress: CaptureProgress): void;
  warn(message: string): void;
}

export interface IntrospectOptions {
  /** `user@host[:port]`; undefined: this machine. */
  readonly host?: string;
  readonly hostOptions?: ReferenceHostOptions;
  /** Name for the resulting appliance or atomic assembly instead of the plugin's choice. */
  readonly name?: string;
  readonly deferCapture?: boolean;
  readonly codec?: CaptureCodec;
  readonly progress?: IntrospectionProgress;
  readonly signal?: AbortSignal;
}

export interface CapturedArchive {
  readonly appliance: string;
  readonly fileSet: string;
  readonly files: number;
  readonly bytes: number;
  readonly archiveBytes: number;
  readonly sha256: string;
}

export interface IntrospectionSummary {
  readonly plugin: string;
  readonly participants: readonly string[];
  readonly host: string;
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

/** An archive captured into the job's tmp dir, waiting for the catalog commit. */
interface StagedArchive {
  readonly appliance: string;
  readonly def: FileSetDefinition;
  readonly file: string;
  readonly codec: CaptureCodec;
}

export const quiet: IntrospectionProgress = { plugin() {}, capture() {}, warn() {} };

/**
 * The introspector manager: runs a plugin and its extensions against a reference host and
 * stores what they describe. Order: upgrade check, the plugin's dehydrate, each extension
 * after its parent, platform validation, capture (unless deferred), then one catalog commit.
 * Any error before the commit leaves the catalog exactly as it was.
 */
@injectable()
export class IntrospectionService {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
    @inject(Catalog) private readonly catalog: Catalog,
  ) {}

  /** Resolves the command and collects the job parameters of the plugin and its extensions. */
  async prepare(target: string): Promise<PreparedIntrospection> {
    const inventory = await this.plugins.get();
    const collector = this.registry.createCollector();
    const rootPlugin = resolveCommandTarget(inventory, collector, target);
    const participants = participantServices(inventory, collector, rootPlugin);
    const parameters = mergeParameterDefinitions(
      participants.map((p) => ({ plugin: p.name, parameters: callPlugin(p.name, 'jobParameters', () => p.service.jobParameters?.() ?? []) })),
    );
    return { target, rootPlugin, participants, parameters };
  }

  async introspect(prepared: PreparedIntrospection, parameters: JobParameterValues, options: IntrospectOptions = {}): Promise<IntrospectionSummary> {
    const progress = options.progress ?? quiet;
    const { rootPlugin, participants } = prepared;
    const inventory = await this.plugins.get();
    const collector = this.registry.createCollector();

    const jobDir = await createJobDir(this.layout.tmpDir, 'introspect');
    const host = await this.hosts.open(options.host, options.hostOptions ?? {});
    const warnings: string[] = [];
    try {
      parameters = absolutePaths(prepared.parameters, parameters, host);
      // Newer plugins shipped with the product are looked for where the product is: on the reference host.
      const candidates = await findUpgradeCandidates(inventory, collector, rootPlugin, parameters, host);
      if (candidates.length > 0) throw upgradeRequiredError(candidates, host.kind === 'local' ? undefined : host.describe());

      const result = await this.dehydrate(prepared, parameters, host, jobDir, progress, options.name, options.signal);
      const root = result.atomicAssembly ?? result.appliances[0]!;
      if (await this.nameTaken(root.name)) {
        throw new UserError('CATALOG_NAME_TAKEN', `the catalog already has an appliance or assembly named "${root.name}"`, {
          hint: 'choose another with --name, or delete the existing one first (abctl deleteAppliance / deleteAssembly)',
        });
      }
      for (const appliance of result.appliances) {
        appliance.properties.add(
          { name: REFERENCE_HOST_PROPERTY, type: 'string', category: 'system', description: 'reference host the appliance was introspected on', value: host.describe() },
          'framework',
        );
      }
      warnings.push(...(await this.validatePlatform(host, participants.map((p) => p.name), progress)));

      const archives: StagedArchive[] = [];
      const captured: CapturedArchive[] = [];
      if (!options.deferCapture) {
        for (const appliance of result.appliances) {
          for (const def of capturedDefinitions(appliance)) {
            const file = join(jobDir, `${appliance.name}-${def.name}.archive`);
            const r = await this.captureOne(host, participants.map((p) => p.name), appliance.name, def, file, options, progress);
            archives.push({ appliance: appliance.name, def, file, codec: r.codec });
            captured.push({ appliance: appliance.name, fileSet: def.name, files: r.files, bytes: r.bytes, archiveBytes: r.archiveBytes, sha256: r.sha256 });
            for (const s of r.skipped) warnings.push(`${appliance.name}/${def.name}: skipped ${s.path} (${s.reason})`);
          }
        }
      }

      stopIfAborted(options.signal);
      await this.store(result, archives);
      return summarize(prepared, host, result, captured, !!options.deferCapture, warnings);
    } finally {
      await host.close().catch(() => undefined);
      await rm(jobDir, { recursive: true, force: true });
    }
  }

  private async dehydrate(
    prepared: PreparedIntrospection,
    parameters: JobParameterValues,
    host: ReferenceHost,
    jobDir: string,
    progress: IntrospectionProgress,
    requestedName: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<DehydrationResult> {
    const root = prepared.participants[0]!;
    const run = new DehydrationRun({
      rootPlugin: prepared.rootPlugin,
      allowExtensionsToCreateAppliances: root.service.allowExtensionsToCreateAppliances === true,
      parameters,
      host,
      tmpDir: jobDir,
      requestedName,
    });
    // Strictly one after the other: each extension sees what its parent (and earlier ones) built.
    for (const p of prepared.participants) {
      stopIfAborted(signal);
      if (!p.service.dehydrate) {
        if (p.isRoot) throw new PluginError(p.name, 'PLUGIN_CONTRACT', `${p.name} has no dehydrate method`);
        continue;
      }
      const ctx = run.contextFor(p.name, pluginLogger(p.name, progress), (pct, msg) => progress.plugin(p.name, pct, msg));
      progress.plugin(p.name, -1, 'dehydrating');
      try {
        await p.service.dehydrate(ctx);
      } catch (err) {
        throw asPluginError(p.name, 'dehydrate', err);
      }
    }
    const result = run.result();
    checkResult(result, prepared.rootPlugin);
    return result;
  }

  private async nameTaken(name: string): Promise<boolean> {
    return (await this.catalog.hasAppliance(name)) || (await this.catalog.hasAssembly(name));
  }

  /** Platform/OS validation of the participants: a rejection stops, warnings are returned. */
  private async validatePlatform(host: ReferenceHost, participants: readonly string[], progress: IntrospectionProgress): Promise<string[]> {
    const validators = this.registry.createCollector().getServices(ServiceIds.PlatformOsValidationPlugin).filter((v) => participants.includes(v.pluginName));
    if (validators.length === 0) return [];
    const facts = await platformFacts(host);
    const warnings: string[] = [];
    for (const v of validators) {
      let messages: readonly ValidationMessage[];
      try {
        messages = await v.validatePlatform(facts);
      } catch (err) {
        throw asPluginError(v.pluginName, 'validatePlatform', err);
      }
      const rejection = messages.find((m) => m.severity === 'rejection');
      if (rejection) {
        throw new UserError('PLATFORM_REJECTED', `${v.pluginName} does not support this platform (${facts.os} ${facts.arch}): ${rejection.message}`);
      }
      for (const m of messages) {
        warnings.push(`${v.pluginName}: ${m.message}`);
        progress.warn(`${v.pluginName}: ${m.message}`);
      }
    }
    return warnings;
  }

  private async captureOne(
    host: ReferenceHost,
    participants: readonly string[],
    applianceName: string,
    def: FileSetDefinition,
    file: string,
    options: IntrospectOptions,
    progress: IntrospectionProgress,
  ) {
    await runPackagerValidation(this.registry, participants, applianceName, [def.root], host);
    const label = `${applianceName}/${def.name}`;
    return captureDefinition(host, def, {
      out: file,
      codec: options.codec ?? 'gzip',
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => progress.capture(label, p),
    });
  }

  /** One commit for metadata and content; archives follow, and a failure there undoes the commit. */
  private async store(result: DehydrationResult, archives: readonly StagedArchive[]): Promise<void> {
    const atomic = result.atomicAssembly;
    const owner = (appliance: string): string => (atomic ? `${atomic.name}/${appliance}` : appliance);
    const content = [...result.content].flatMap(([appliance, resources]) =>
      [...resources].map(([resource, data]) => ({ owner: owner(appliance), resource, data })),
    );
    const top: Appliance | AtomicAssembly = atomic ?? result.appliances[0]!;
    // createOnly: the early name check ran without the lock; this one settles races.
    await this.catalog.commit({ put: [top], content, createOnly: true });
    try {
      for (const a of archives) await this.catalog.recordFileSet(owner(a.appliance), a.def.name, a.file, { codec: a.codec });
    } catch (err) {
      await this.catalog.commit({ delete: [atomic ? { assembly: atomic.name } : { appliance: top.name }] }).catch(() => undefined);
      throw err;
    }
  }
}

/** Ctrl-C between steps: stop before the next plugin runs or anything is stored. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new UserError('INTROSPECTION_ABORTED', 'introspection interrupted; nothing was stored in the catalog', { cause: signal.reason });
  }
}

/** Runs the packager validation plugins of the participants; the first message aborts the capture. */
export async function runPackagerValidation(
  registry: ServiceRegistry,
  participants: readonly string[],
  applianceName: string,
  roots: readonly string[],
  host: ReferenceHost,
): Promise<void> {
  for (const v of registry.createCollector().getServices(ServiceIds.PackagerValidationPlugin)) {
    if (!participants.includes(v.pluginName)) continue;
    let message: string | undefined;
    try {
      message = await v.validateCapture({ applianceName, fileSetRoots: roots, host });
    } catch (err) {
      throw asPluginError(v.pluginName, 'validateCapture', err);
    }
    if (message) {
      throw new UserError('CAPTURE_REFUSED', `${v.pluginName} refused the capture of ${applianceName}: ${message}`, {
        hint: 'fix what it reports (e.g. stop the product), then capture again with abctl captureFileSets',
      });
    }
  }
}

/** File set definitions this appliance owns and that are to be captured (siblings share their primary's). */
export function capturedDefinitions(appliance: Appliance): FileSetDefinition[] {
  return appliance.fileSetsFrom === undefined ? appliance.fileSets.filter((d) => d.captured) : [];
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

async function platformFacts(host: ReferenceHost): Promise<{ os: string; arch: string; osRelease?: string }> {
  const uname = await host.run(['uname', '-s', '-m']);
  const [os = 'unknown', arch = 'unknown'] = uname.stdout.trim().split(/\s+/);
  const release = (await host.exists('/etc/os-release')) ? await host.readText('/etc/os-release') : '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)?.[1];
  return { os, arch, ...(pretty ? { osRelease: pretty } : {}) };
}

export function pluginLogger(name: string, progress: IntrospectionProgress): PluginLogger {
  const debug = process.env.AB_DEBUG === '1';
  return {
    info: (m) => process.stderr.write(`[${name}] ${m}\n`),
    warn: (m) => progress.warn(`[${name}] ${m}`),
    debug: (m) => {
      if (debug) process.stderr.write(`[${name}] ${m}\n`);
    },
  };
}

function callPlugin<T>(plugin: string, method: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asPluginError(plugin, method, err);
  }
}

/**
 * A plugin's own error with a `code` (a UserError, or any Error carrying `code` and maybe
 * `hint`/`where`: plain-JS plugins cannot import our classes) keeps its message and hint;
 * anything else is reported as that plugin's failure.
 */
function asPluginError(plugin: string, method: string, err: unknown): Error {
  if (err instanceof PluginError) return err;
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && !(err as NodeJS.ErrnoException).syscall) {
    const { code, hint, where } = err as Error & { code: string; hint?: unknown; where?: unknown };
    return new PluginError(plugin, code, err.message, {
      ...(typeof hint === 'string' ? { hint } : {}),
      ...(typeof where === 'string' ? { where } : {}),
      cause: err,
    });
  }
  return new PluginError(plugin, 'PLUGIN_FAILED', `${method} failed: ${errorText(err)}`, { cause: err });
}

function summarize(
  prepared: PreparedIntrospection,
  host: ReferenceHost,
  result: DehydrationResult,
  captured: readonly CapturedArchive[],
  deferred: boolean,
  warnings: readonly string[],
): IntrospectionSummary {
  const top = result.atomicAssembly ?? result.appliances[0]!;
  return {
    plugin: prepared.rootPlugin,
    participants: prepared.participants.map((p) => p.name),
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
    captured,
    captureDeferred: deferred,
    warnings,
  };
}

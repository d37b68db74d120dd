import { inject, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import { AtomicAssembly, type Appliance } from '../../core/metadata/index.js';
import { Catalog } from '../../catalog/catalog.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { ReferenceHostFactory } from '../host/connect.js';
import { InstanceLayout } from '../instance.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { captureFileSets } from './file-set-capture.js';
import { REFERENCE_HOST_PROPERTY, type CapturedArchive } from './introspect-job.js';

/** A captured archive with what its capture left out, and why (secrets, sockets, templates naming a password). */
export interface CapturedWithSkips extends CapturedArchive {
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}
import { runJob, silentProgress, type JobOptions } from './job.js';
import { disabledText, type DisabledExtension } from '../../core/plugin-tree.js';
import { brokenRootError, runnableChain } from './plugin-chain.js';

/** What `captureFileSets` did: the archives, and the extensions whose checks did not run (as introspection's --json names them). */
export interface CaptureResult {
  readonly captured: readonly CapturedWithSkips[];
  readonly disabledExtensions: readonly DisabledExtension[];
}

export interface CaptureOptions extends JobOptions {
  readonly codec?: CaptureCodec;
}

/**
 * `abctl captureFileSets`: (re)captures the file sets of a stored appliance or atomic assembly
 * from the host it was introspected on (or `--host`), with its creator's capture checks, and
 * stores every archive in ONE commit: the previous archives stay until all new ones are done.
 */
@injectable()
export class CaptureJob {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
    @inject(Catalog) private readonly catalog: Catalog,
  ) {}

  async capture(name: string, options: CaptureOptions = {}): Promise<CaptureResult> {
    const { appliances, ownerOf } = await this.load(name);
    const recorded = appliances[0]?.properties.getValue(REFERENCE_HOST_PROPERTY);
    const host = options.host ?? (recorded && recorded !== 'local' ? recorded : undefined);
    const creator = appliances[0]!.creator;
    const operation = `captureFileSets of ${name}`;
    const inventory = await this.plugins.get();
    // A broken root or extension refuses the capture here, before the job starts: its checks could
    // not run. A root the user disabled is their choice: the capture goes on without its checks.
    const root = inventory.records.get(creator);
    if (root?.state === 'broken' && root.userDisabled !== true) throw brokenRootError(root, operation, 'capture without its checks');
    const resolved = runnableChain(inventory, creator, operation);
    const chain = [...(resolved?.participants ?? [])];
    const progress = options.progress ?? silentProgress;
    if (resolved === undefined) progress.warn(`plugin ${creator} is not enabled: its capture checks do not run`);
    else if (resolved.disabled.length > 0) progress.warn(`disabled extensions of ${creator} do not check this capture: ${disabledText(resolved.disabled)}`);

    const spec = {
      name: 'capture',
      interruptedOutcome: 'the catalog was not changed',
      tmpDir: this.layout.tmpDir,
      hosts: this.hosts,
      options: { ...options, ...(host !== undefined ? { host } : {}) },
    };
    return runJob(spec, async (job) => {
      const archives = await captureFileSets(job, this.registry.createCollector(), {
        appliances,
        ownerOf,
        chain,
        codec: options.codec ?? 'gzip',
        contentOf: async (appliance, resource) => new Uint8Array(await this.catalog.readContent(ownerOf(appliance), resource)),
        refusalHint: () => `the catalog was not changed; fix what it reports (e.g. stop the product), then run abctl captureFileSets --appliance ${name} again`,
      });
      job.checkpoint();
      if (archives.length > 0) await this.catalog.commit({ captured: archives });
      const captured = archives.map((a) => ({ appliance: a.appliance, fileSet: a.fileSet, files: a.files, bytes: a.bytes, archiveBytes: a.archiveBytes, sha256: a.sha256, skipped: a.skipped }));
      return { captured, disabledExtensions: resolved?.disabled ?? [] };
    });
  }

  private async load(name: string): Promise<{ appliances: readonly Appliance[]; ownerOf: (appliance: string) => string }> {
    if (await this.catalog.hasAppliance(name)) return { appliances: [await this.catalog.getAppliance(name)], ownerOf: (a) => a };
    if (await this.catalog.hasAssembly(name)) {
      const assembly = await this.catalog.getAssembly(name);
      if (assembly instanceof AtomicAssembly) return { appliances: assembly.appliances, ownerOf: (a) => `${name}/${a}` };
    }
    throw new UserError('APPLIANCE_UNKNOWN', `the catalog has no appliance or atomic assembly named "${name}"`, {
      hint: 'abctl describeAppliances lists them',
    });
  }
}

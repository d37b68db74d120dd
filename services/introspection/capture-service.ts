import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { UserError, errorText } from '../../core/errors.js';
import { AtomicAssembly, type Appliance } from '../../core/metadata/index.js';
import type { DiscoveredInstallation } from '../../core/plugin-contract.js';
import { participantsOf } from '../../core/plugin-tree.js';
import { ServiceIds } from '../../core/service-ids.js';
import { Catalog } from '../../catalog/catalog.js';
import { captureDefinition } from '../archive/definition-capture.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { ReferenceHostFactory, type ReferenceHostOptions } from '../host/connect.js';
import { InstanceLayout } from '../instance.js';
import { createJobDir } from './job-dir.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import {
  REFERENCE_HOST_PROPERTY,
  capturedDefinitions,
  pluginLogger,
  quiet,
  runPackagerValidation,
  type CapturedArchive,
  type IntrospectionProgress,
} from './introspection-service.js';

export interface CaptureRequest {
  readonly host?: string;
  readonly hostOptions?: ReferenceHostOptions;
  readonly codec?: CaptureCodec;
  readonly progress?: IntrospectionProgress;
  readonly signal?: AbortSignal;
}

export interface DiscoveryReport {
  readonly host: string;
  readonly plugins: readonly { plugin: string; installations: readonly DiscoveredInstallation[]; error?: string }[];
}

/** The separate jobs that share the introspection's machinery: capture later, and discovery. */
@injectable()
export class FileSetCaptureService {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
    @inject(Catalog) private readonly catalog: Catalog,
  ) {}

  /**
   * (Re)captures the file sets of an appliance or atomic assembly from its reference host.
   * Each archive replaces the previous one only once it is complete.
   */
  async capture(name: string, request: CaptureRequest = {}): Promise<CapturedArchive[]> {
    const progress = request.progress ?? quiet;
    const { appliances, owner } = await this.load(name);
    const recorded = appliances[0]?.properties.getValue(REFERENCE_HOST_PROPERTY);
    const spec = request.host ?? (recorded && recorded !== 'local' ? recorded : undefined);
    const inventory = await this.plugins.get();
    const creator = appliances[0]!.creator;
    const participants = inventory.records.get(creator)?.state === 'enabled' ? participantsOf(inventory, creator) : [];
    if (participants.length === 0) progress.warn(`plugin ${creator} is not enabled: its capture checks do not run`);

    const jobDir = await createJobDir(this.layout.tmpDir, 'capture');
    const host = await this.hosts.open(spec, request.hostOptions ?? {});
    try {
      const out: CapturedArchive[] = [];
      for (const appliance of appliances) {
        for (const def of capturedDefinitions(appliance)) {
          await runPackagerValidation(this.registry, participants, appliance.name, [def.root], host);
          const file = join(jobDir, `${appliance.name}-${def.name}.archive`);
          const label = `${appliance.name}/${def.name}`;
          const r = await captureDefinition(host, def, {
            out: file,
            codec: request.codec ?? 'gzip',
            ...(request.signal ? { signal: request.signal } : {}),
            onProgress: (p) => progress.capture(label, p),
          });
          await this.catalog.recordFileSet(owner(appliance.name), def.name, file, { codec: r.codec });
          out.push({ appliance: appliance.name, fileSet: def.name, files: r.files, bytes: r.bytes, archiveBytes: r.archiveBytes, sha256: r.sha256 });
        }
      }
      return out;
    } finally {
      await host.close().catch(() => undefined);
      await rm(jobDir, { recursive: true, force: true });
    }
  }

  /** Asks every enabled plugin that has a discovery hook what it finds on the host. */
  async discover(spec: string | undefined, hostOptions: ReferenceHostOptions = {}, progress: IntrospectionProgress = quiet): Promise<DiscoveryReport> {
    const inventory = await this.plugins.get();
    const host = await this.hosts.open(spec, hostOptions);
    try {
      const plugins: { plugin: string; installations: readonly DiscoveredInstallation[]; error?: string }[] = [];
      for (const p of this.registry.createCollector().getServices(ServiceIds.IntrospectorPlugin)) {
        if (!p.discover || inventory.records.get(p.name)?.state !== 'enabled') continue;
        try {
          const installations = await p.discover({ host, log: pluginLogger(p.name, progress), progress: (pct, msg) => progress.plugin(p.name, pct, msg) });
          plugins.push({ plugin: p.name, installations });
        } catch (err) {
          // One plugin's failing discovery must not hide what the others found.
          plugins.push({ plugin: p.name, installations: [], error: errorText(err) });
        }
      }
      return { host: host.describe(), plugins: plugins.sort((a, b) => a.plugin.localeCompare(b.plugin)) };
    } finally {
      await host.close().catch(() => undefined);
    }
  }

  private async load(name: string): Promise<{ appliances: readonly Appliance[]; owner: (appliance: string) => string }> {
    if (await this.catalog.hasAppliance(name)) return { appliances: [await this.catalog.getAppliance(name)], owner: (a) => a };
    if (await this.catalog.hasAssembly(name)) {
      const assembly = await this.catalog.getAssembly(name);
      if (assembly instanceof AtomicAssembly) return { appliances: assembly.appliances, owner: (a) => `${name}/${a}` };
    }
    throw new UserError('APPLIANCE_UNKNOWN', `the catalog has no appliance or atomic assembly named "${name}"`, {
      hint: 'abctl describeAppliances lists them',
    });
  }
}

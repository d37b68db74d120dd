import { inject, injectable } from 'inversify';
import { errorText } from '../../core/errors.js';
import type { DiscoveredInstallation } from '../../core/plugin-contract.js';
import { ServiceIds } from '../../core/service-ids.js';
import { ReferenceHostFactory } from '../host/connect.js';
import { InstanceLayout } from '../instance.js';
import { JobInterrupted } from '../plugin-hooks.js';
import { pluginMessages } from '../messages/plugin-messages.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { runJob, type JobOptions } from './job.js';

export interface DiscoveryReport {
  readonly host: string;
  readonly plugins: readonly { plugin: string; installations: readonly DiscoveredInstallation[]; error?: string }[];
}

/** `abctl discover`: asks every enabled plugin with a discovery hook what it finds on the host. Stores nothing. */
@injectable()
export class DiscoverJob {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
  ) {}

  async discover(options: JobOptions = {}): Promise<DiscoveryReport> {
    const inventory = await this.plugins.get();
    const spec = { name: 'discovery', interruptedOutcome: 'nothing was changed', tmpDir: this.layout.tmpDir, hosts: this.hosts, options };
    return runJob(spec, async (job) => {
      const hooks = this.registry
        .createCollector()
        .getServicesWithOwner(ServiceIds.IntrospectorPlugin)
        .filter(({ owner, service }) => service.discover !== undefined && inventory.records.get(owner)?.state === 'enabled');
      job.checkpoint();
      // The hooks only read, each on its own: they run at once, so over SSH their round trips
      // (a `ps` here, a glob there) overlap instead of adding up.
      const outcomes = await Promise.all(
        hooks.map(async ({ owner: plugin, service }) => {
          const ctx = { host: job.host, log: job.logger(plugin), messages: pluginMessages(plugin), progress: (pct: number, msg?: string) => job.progress.plugin(plugin, pct, msg) };
          try {
            return { plugin, installations: await job.call(plugin, 'discover', () => service.discover!(ctx)) };
          } catch (err) {
            if (err instanceof JobInterrupted) return { interrupted: err };
            // One plugin's failing (or hanging) discovery must not hide what the others found.
            return { plugin, installations: [], error: errorText(err) };
          }
        }),
      );
      const plugins: { plugin: string; installations: readonly DiscoveredInstallation[]; error?: string }[] = [];
      for (const o of outcomes) {
        if ('interrupted' in o) throw o.interrupted;
        plugins.push(o);
      }
      return { host: job.host.describe(), plugins: plugins.sort((a, b) => a.plugin.localeCompare(b.plugin)) };
    });
  }
}

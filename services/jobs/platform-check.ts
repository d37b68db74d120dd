import { UserError } from '../../core/errors.js';
import type { ServiceCollector } from '../../core/plugin-contract.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { ServiceIds } from '../../core/service-ids.js';
import type { Job } from './job.js';
import { chainServices } from './plugin-chain.js';

/** What a platform check is told about the reference host. */
export interface PlatformFacts {
  readonly os: string;
  readonly arch: string;
  readonly osRelease?: string;
}

export async function platformFacts(host: ReferenceHost): Promise<PlatformFacts> {
  const uname = await host.run(['uname', '-s', '-m']);
  const [os = 'unknown', arch = 'unknown'] = uname.stdout.trim().split(/\s+/);
  const release = (await host.exists('/etc/os-release')) ? await host.readText('/etc/os-release') : '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)?.[1];
  return { os, arch, ...(pretty ? { osRelease: pretty } : {}) };
}

/**
 * The chain's platform checks (`validatePlatform`): the first rejection stops the job; the
 * warnings are shown at once and returned for the summary.
 */
export async function checkPlatform(job: Job, services: ServiceCollector, chain: readonly string[]): Promise<string[]> {
  const checks = chainServices(services, ServiceIds.PlatformOsValidationPlugin, chain);
  if (checks.length === 0) return [];
  const facts = await platformFacts(job.host);
  const warnings: string[] = [];
  for (const check of checks) {
    const messages = await job.call(check.pluginName, 'validatePlatform', () => check.validatePlatform(facts));
    const rejection = messages.find((m) => m.severity === 'rejection');
    if (rejection) {
      throw new UserError('PLATFORM_REJECTED', `${check.pluginName} does not support this platform (${facts.os} ${facts.arch}): ${rejection.message}`);
    }
    for (const m of messages) {
      warnings.push(`${check.pluginName}: ${m.message}`);
      job.progress.warn(`${check.pluginName}: ${m.message}`);
    }
  }
  return warnings;
}

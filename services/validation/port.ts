/**
 * What deploy asks of base validation, as a port: services/deploy binds nothing here and calls
 * it when some module provides it (validationModule does), so deploy still works without it.
 */
import type { DeploymentPlan } from '../../core/deployment-plan/index.js';
import type { Appliance, Assembly } from '../../core/metadata/index.js';
import type { OpenedBase } from './base-files.js';

export interface HostCheckOptions {
  readonly signal?: AbortSignal;
  /** SSH options of the deploy command, for ssh:// targets. */
  readonly targetOptions?: {
    readonly identityFile?: string | readonly string[];
    readonly knownHostsFile?: string;
    readonly insecureSkipHostKeyCheck?: boolean;
    readonly connectTimeoutMs?: number;
  };
  /** Where warnings go; default stderr. */
  readonly warn?: (line: string) => void;
}

export interface HostRequirementsCheck {
  /** Throws, listing every problem, when a target host of the plan lacks what a plugin requires; shows warnings. */
  beforeDeploy(assembly: Assembly, plan: DeploymentPlan, opts: HostCheckOptions): Promise<void>;
  /**
   * scaleAppliance's check: the hosts the new instances go to, each against the plugins of the
   * appliances placed there (`appliance` is the key in the assembly, `target` the plan's text).
   */
  beforeScale(assembly: Assembly, plan: DeploymentPlan, placements: readonly { readonly appliance: string; readonly target: string }[], opts: HostCheckOptions): Promise<void>;
}
export const HostRequirementsCheck = Symbol('HostRequirementsCheck');

/**
 * What an engine target asks before it writes an appliance's image over a base: the same check
 * createTemplate runs (throws listing every problem; shows warnings). A port like the one above.
 */
export interface ImageRequirementsCheck {
  beforeImage(base: OpenedBase, appliances: readonly { readonly label: string; readonly appliance: Appliance }[], opts: { readonly signal?: AbortSignal; readonly warn?: (line: string) => void }): Promise<unknown>;
}
export const ImageRequirementsCheck = Symbol('ImageRequirementsCheck');

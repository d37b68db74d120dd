/**
 * What deploy needs from the bundle side: a bundle directory for one instance and the agent
 * that runs `rehydrate|start|stop|ping --bundle DIR` on the host. Deploy computes the late
 * bindings (core/lifecycle-contract.ts: where this instance runs, where its peers are); the
 * writer puts them into the bundle with the appliance, the plan and the plugin code.
 * A port of its own so the deployment tests can bind a small writer without a catalog.
 */
import type { DeploymentPlan } from '../../core/deployment-plan/index.js';
import type { LateBindings, LifecycleOperation } from '../../core/lifecycle-contract.js';
import type { Assembly } from '../../core/metadata/index.js';
import type { BundleKey } from '../rehydration/bundle-key.js';
import type { MadeAppliance } from '../rehydration/recorded-chain.js';

export type { LateBindings, PeerBinding } from '../../core/lifecycle-contract.js';
/** The agent's stderr line before each operation of a run with several (`rehydrate start`). */
export { AGENT_STEP_MARK } from '../rehydration/bundle-format.js';
/** The plugins' operations, and `release` (the agent's own: unmount what rehydrate mounted, before removal). */
export type AgentOperation = LifecycleOperation | 'release';

export interface BundleRequest {
  readonly deployment: string;
  readonly assembly: Assembly;
  /** Passwords in clear, as DeploymentPlanService reads it. */
  readonly plan: DeploymentPlan;
  /** The appliance's path in the assembly: `web`, `tier/web`. */
  readonly appliance: string;
  readonly instanceIndex: number;
  /** `<appliance>-<index>`, for messages and test doubles. */
  readonly instanceId: string;
  readonly bindings: LateBindings;
  /** Directory to create and fill. */
  readonly outDir: string;
  /** Encrypts the bundle's password values; deploy keeps it and gives it to the agent on stdin. */
  readonly passwordKey: BundleKey;
  readonly signal?: AbortSignal;
}

export interface BundleWriter {
  /** Fills `outDir`; resolves to the local path of the agent's one JavaScript file. */
  write(request: BundleRequest): Promise<{ agentFile: string }>;
  /**
   * Before anything is written: the chains the appliances were made with against the plugins
   * that would go into their bundles. Throws when a recorded extension is missing; resolves to
   * the warnings to show (services/rehydration/recorded-chain.ts). Optional: test writers have none.
   */
  checkChains?(appliances: readonly MadeAppliance[], of: string): Promise<string[]>;
}
export const BundleWriter = Symbol('DeployBundleWriter');

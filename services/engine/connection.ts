/**
 * What a container engine's connection has in common: the deployer drives it through its
 * `engine` (services/deploy/target.ts, InstanceEngine), so the bundle-shipping half of the
 * connection is never called, and each instance's identity comes from the engine once it is up.
 */
import type { InstanceEngine, TargetConnection } from '../deploy/target.js';

export abstract class EngineConnection implements TargetConnection {
  constructor(
    readonly spec: string,
    readonly engine: InstanceEngine,
  ) {}

  /** Says that the engine's tools work here, and their version. */
  abstract check(): Promise<{ node: string }>;

  async identity(): Promise<{ hostname: string; address: string }> {
    return { hostname: '', address: '' };
  }

  async ship(): Promise<void> {
    throw new Error(`internal error: the ${this.spec} target runs images; it is not shipped bundles`);
  }

  async runNode(): Promise<number> {
    throw new Error(`internal error: the ${this.spec} target runs the agent inside its containers`);
  }

  async remove(): Promise<void> {}

  async close(): Promise<void> {}
}

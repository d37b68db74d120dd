/**
 * A plugin whose activator (or entry module) never settled costs every command the whole time
 * limit. Activation therefore remembers such failures across commands through this interface;
 * the instance's plugin state implements it (services/plugins/activation-failures.ts).
 */

/** Identifies the code that failed: a new version or a changed entry module is tried again. */
export interface ActivationMemoryKey {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the entry module. */
  readonly entry: string;
}

export interface RememberedFailure {
  /** The failure as it was reported then. */
  readonly message: string;
  /** When it happened (ISO 8601). */
  readonly at: string;
}

export interface ActivationMemory {
  /** Remembered failures that still apply to these plugins (same version, same entry module), by name. */
  recall(plugins: readonly ActivationMemoryKey[]): Promise<ReadonlyMap<string, RememberedFailure>>;
  remember(plugin: ActivationMemoryKey, message: string): Promise<void>;
}

export const ActivationMemory = Symbol('ActivationMemory');

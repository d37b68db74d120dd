import { injectable } from 'inversify';

/**
 * Answers "which appliances in the catalog were made with these plugins?" (as creator, or as
 * a recorded participant of the dehydration) so installation can refuse to delete or
 * downgrade a plugin in use. The catalog binds the real answer; until an instance has a
 * catalog, nothing can have been made and the answer is empty.
 */
export interface PluginUsage {
  /** `lockHeld`: the caller holds the instance lock (the catalog must not take it again). */
  appliancesMadeWith(plugins: readonly string[], options?: { readonly lockHeld?: boolean }): Promise<PluginUseReport>;
}

export interface PluginUseReport {
  /** One entry per appliance and plugin: `appliance` is a name or an `assembly/member` path. */
  readonly uses: readonly { readonly appliance: string; readonly plugin: string; readonly version?: string }[];
  /** Catalog documents that could not be read, so may hold such an appliance. */
  readonly unreadable: readonly { readonly file: string; readonly message: string }[];
}

export const PluginUsage = Symbol('PluginUsage');

@injectable()
export class EmptyPluginUsage implements PluginUsage {
  async appliancesMadeWith(): Promise<PluginUseReport> {
    return { uses: [], unreadable: [] };
  }
}

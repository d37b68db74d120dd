import { injectable } from 'inversify';

/**
 * Answers "which appliances in the catalog did this plugin create?" so installation can
 * refuse to delete or downgrade a plugin in use. The catalog binds the real answer; until
 * an instance has a catalog, nothing can have been created and the answer is empty.
 */
export interface PluginUsage {
  appliancesCreatedBy(pluginName: string): Promise<readonly string[]>;
}

export const PluginUsage = Symbol('PluginUsage');

@injectable()
export class EmptyPluginUsage implements PluginUsage {
  async appliancesCreatedBy(): Promise<readonly string[]> {
    return [];
  }
}

import 'reflect-metadata';
import { Container, type ContainerModule } from 'inversify';
import type { ServiceCollector } from '../core/plugin-contract.js';
import type { PluginInventory } from '../core/plugin-model.js';
import { InstanceLayout, instanceLayout } from './instance.js';
import { pluginsModule } from './plugins/module.js';
import { PluginInventoryService } from './plugins/plugin-inventory-service.js';
import { PluginActivationService, ServiceRegistry, registryModule } from './registry/module.js';

export interface ApplicationOptions {
  readonly instanceRoot: string;
  /** Overrides the project's own plugins/ (tests, benchmarks). */
  readonly bundledPluginsDir?: string;
}

/**
 * One abctl process's composition root: the DI container with one module per area, and
 * the plugin lifecycle. `start()` activates every enabled plugin before any command logic
 * runs, as the contract promises; `stop()` stops them all even when some stops fail.
 * services/app.ts composes it with every area; this file imports only the plugin areas, so a
 * command that only lists plugins does not load (and compile) the others.
 */
export class Application {
  private started = false;

  protected constructor(readonly container: Container, readonly layout: InstanceLayout) {}

  static compose(options: ApplicationOptions, modules: readonly ContainerModule[]): Application {
    const layout = instanceLayout(options.instanceRoot, options.bundledPluginsDir);
    const container = new Container();
    container.bind<InstanceLayout>(InstanceLayout).toConstantValue(layout);
    container.load(...modules);
    return new Application(container, layout);
  }

  /** The registry and plugin areas only: enough to discover, activate and list the plugins. */
  static forPlugins(options: ApplicationOptions): Application {
    return Application.compose(options, [registryModule, pluginsModule]);
  }

  get<T>(id: symbol | (abstract new (...args: never[]) => T)): T {
    return this.container.get<T>(id as never);
  }

  inventory(): Promise<PluginInventory> {
    return this.get(PluginInventoryService).get();
  }

  /** Discovers and activates the enabled plugins; the inventory then shows activation failures as broken plugins. */
  async start(): Promise<PluginInventory> {
    const plugins = this.get(PluginInventoryService);
    const outcome = await this.get(PluginActivationService).activate(await plugins.get());
    plugins.recordActivation(outcome);
    this.started = true;
    return plugins.get();
  }

  collector(): ServiceCollector {
    return this.get(ServiceRegistry).createCollector();
  }

  async stop(): Promise<readonly { plugin: string; message: string }[]> {
    if (!this.started) return [];
    this.started = false;
    return this.get(PluginActivationService).stopAll();
  }
}
